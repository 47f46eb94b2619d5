// Umbrella header: the whole public C++ API of dind.
#pragma once

#include "dind/archive.hpp"
#include "dind/certs.hpp"
#include "dind/client.hpp"
#include "dind/containers.hpp"
#include "dind/daemon.hpp"
#include "dind/endpoint.hpp"
#include "dind/errors.hpp"
#include "dind/events.hpp"
#include "dind/exec.hpp"
#include "dind/images.hpp"
#include "dind/networks.hpp"
#include "dind/session.hpp"
#include "dind/streams.hpp"
#include "dind/system.hpp"
#include "dind/tls.hpp"
#include "dind/volumes.hpp"
