// keel/keel.hpp — everything an application needs, in one include.
#pragma once

#include "keel/config.hpp"
#include "keel/connection.hpp"
#include "keel/database.hpp"
#include "keel/dialect.hpp"
#include "keel/error.hpp"
#include "keel/instance_lock.hpp"
#include "keel/migrate.hpp"
#include "keel/pool.hpp"
#include "keel/schema.hpp"
#include "keel/transfer.hpp"
#include "keel/value.hpp"
