// Registration of the built-in hook types, one function per family, each defined next to its builders
// (src/config/*_type(s).cpp). HookRegistry::with_builtins() calls them all.
#pragma once

#include "eventhooks/hook_registry.hpp"

namespace eventhooks::detail {

void register_http_hook_types(HookRegistry& registry);     // WebHook, MattermostWebHook, DockerCloudWebHook
void register_file_hook_type(HookRegistry& registry);      // FileHook
void register_email_hook_types(HookRegistry& registry);    // SimpleEmailHook, AwsSesEmailHook
void register_rabbitmq_hook_type(HookRegistry& registry);  // RabbitMqHook

}  // namespace eventhooks::detail
