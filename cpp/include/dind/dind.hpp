// Umbrella header: the whole public C++ API of dind.
#pragma once

#include "dind/client.hpp"
#include "dind/endpoint.hpp"
#include "dind/errors.hpp"
#include "dind/tls.hpp"
