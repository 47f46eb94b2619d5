"""docker-py-style resource models (Container, Image, Network, Volume) and their collections."""
