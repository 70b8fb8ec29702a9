// evlog/evlog.hpp — everything a user of evlog includes.
#pragma once

#include "evlog/error.hpp"
#include "evlog/event.hpp"
#include "evlog/logger.hpp"
#include "evlog/options.hpp"
#include "evlog/result.hpp"
#include "evlog/sink.hpp"
#include "evlog/spill.hpp"
#include "evlog/stats.hpp"
