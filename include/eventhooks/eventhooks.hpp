// eventhooks: fire webhooks, email and AMQP messages when something happens. The umbrella header.
#pragma once

#include "eventhooks/config.hpp"
#include "eventhooks/error.hpp"
#include "eventhooks/event.hpp"
#include "eventhooks/hook.hpp"
#include "eventhooks/hooks/file_hook.hpp"
#include "eventhooks/hooks/rabbitmq.hpp"
#include "eventhooks/hooks/webhook.hpp"
#include "eventhooks/http.hpp"
#include "eventhooks/logger.hpp"
#include "eventhooks/outcome.hpp"
#include "eventhooks/payload.hpp"
#include "eventhooks/realms.hpp"
#include "eventhooks/redact.hpp"
#include "eventhooks/retry.hpp"
#include "eventhooks/tls.hpp"
