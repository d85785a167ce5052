// Service URLs (docs/urls.md): each scheme's grammar turned into the keys of a built-in hook type. Parsing
// only: the hook types' builders and constructors check the values, as they do for a config file.
#include "eventhooks/service_url.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "config/suggest.hpp"
#include "core/text.hpp"
#include "eventhooks/hook_registry.hpp"

namespace eventhooks {
namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& scheme, const std::string& problem) {
  throw ConfigError("service URL", "url", scheme + ":// URL: " + problem);
}

// The parts of scheme://[user[:password]@]host[:port][/segment/...][?key=value&...], each percent-decoded.
struct UrlParts {
  std::string scheme;
  std::string authority;  // as written, before decoding: Telegram's token (123:ABC) lives here
  bool has_userinfo = false;
  std::string user, password;
  std::string host_port;              // host[:port] as written
  std::vector<std::string> segments;  // non-empty path segments, decoded
  std::vector<std::pair<std::string, std::string>> query;
};

std::string decoded(const std::string& scheme, std::string_view piece, const char* what) {
  auto d = detail::percent_decode(piece);
  if (!d) bad(scheme, std::string("malformed %-escape in its ") + what);
  return *d;
}

UrlParts split(std::string_view url) {
  UrlParts p;
  const auto colon = url.find("://");
  if (colon == std::string_view::npos || colon == 0) {
    throw ConfigError("service URL", "url", "not a URL (expected scheme://…, see docs/urls.md)");
  }
  p.scheme = detail::to_lower(url.substr(0, colon));
  std::string_view rest = url.substr(colon + 3);
  if (rest.find_first_of(" \t\r\n") != std::string_view::npos) bad(p.scheme, "contains whitespace");
  const auto query_at = rest.find('?');
  std::string_view query =
      query_at == std::string_view::npos ? std::string_view() : rest.substr(query_at + 1);
  rest = rest.substr(0, query_at);
  if (rest.find('#') != std::string_view::npos) bad(p.scheme, "'#' is not allowed (use ?key=value)");
  const auto slash = rest.find('/');
  p.authority = std::string(rest.substr(0, slash));
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  const auto at = p.authority.rfind('@');
  if (at != std::string::npos) {
    p.has_userinfo = true;
    const std::string userinfo = p.authority.substr(0, at);
    const auto c = userinfo.find(':');
    p.user = decoded(p.scheme, std::string_view(userinfo).substr(0, c), "user");
    if (c != std::string::npos)
      p.password = decoded(p.scheme, std::string_view(userinfo).substr(c + 1), "password");
    p.host_port = p.authority.substr(at + 1);
  } else {
    p.host_port = p.authority;
  }
  while (!path.empty()) {
    const auto next = std::min(path.find('/'), path.size());
    if (next > 0) p.segments.push_back(decoded(p.scheme, path.substr(0, next), "path"));
    path.remove_prefix(std::min(next + 1, path.size()));
  }
  while (!query.empty()) {
    const auto amp = std::min(query.find('&'), query.size());
    const std::string_view pair = query.substr(0, amp);
    if (!pair.empty()) {
      const auto eq = pair.find('=');
      // '+' is a space in a query (HTML forms), except where it starts a header name (json://…?+X-Key=v).
      auto plus_decoded = [&](std::string_view s, bool keep_leading_plus) {
        std::string text(s);
        for (std::size_t i = keep_leading_plus ? 1 : 0; i < text.size(); ++i) {
          if (text[i] == '+') text[i] = ' ';
        }
        return decoded(p.scheme, text, "query");
      };
      p.query.emplace_back(
          plus_decoded(pair.substr(0, eq), true),
          eq == std::string_view::npos ? std::string() : plus_decoded(pair.substr(eq + 1), false));
    }
    query.remove_prefix(std::min(amp + 1, query.size()));
  }
  return p;
}

// Where a query parameter goes: the hook key of the same name, typed as that key is.
enum class Kind { text, integer, boolean, list };

void apply_query(const UrlParts& p, json& config, const std::map<std::string, Kind>& allowed) {
  for (const auto& [key, value] : p.query) {
    auto it = allowed.find(key);
    if (it == allowed.end()) {
      std::vector<std::string> names;
      names.reserve(allowed.size());
      for (const auto& entry : allowed) names.push_back(entry.first);
      std::string message = "unknown parameter '" + key + "'";
      if (auto near = detail::nearest_name(key, names)) message += "; did you mean '" + *near + "'?";
      if (!names.empty()) {
        message += " (known:";
        for (const auto& n : names) message += " " + n;
        message += ")";
      }
      bad(p.scheme, message);
    }
    switch (it->second) {
      case Kind::text: config[key] = value; break;
      case Kind::integer:
        if (value.empty() || value.size() > 9 ||
            value.find_first_not_of("-0123456789") != std::string::npos) {
          config[key] = value;  // the builder names what it accepts (ntfy's "high", …)
        } else {
          config[key] = std::stoi(value);
        }
        break;
      case Kind::boolean: {
        const std::string v = detail::to_lower(value);
        if (v == "yes" || v == "true" || v == "1" || v.empty()) {
          config[key] = true;
        } else if (v == "no" || v == "false" || v == "0") {
          config[key] = false;
        } else {
          config[key] = value;
        }
        break;
      }
      case Kind::list: {
        json items = json::array();
        std::string_view rest = value;
        while (!rest.empty()) {
          const auto comma = std::min(rest.find(','), rest.size());
          const std::string item = detail::trim(rest.substr(0, comma));
          if (!item.empty()) items.push_back(item);
          rest.remove_prefix(std::min(comma + 1, rest.size()));
        }
        config[key] = std::move(items);
        break;
      }
    }
  }
}

// "http" or "https" for a scheme pair like ntfy/ntfys.
std::string web_scheme(const std::string& scheme, const std::string& plain) {
  return scheme == plain ? "http" : "https";
}

void require_host(const UrlParts& p, const char* example) {
  if (p.host_port.empty()) bad(p.scheme, std::string("no host (expected ") + example + ")");
}

void no_userinfo(const UrlParts& p) {
  if (p.has_userinfo) bad(p.scheme, "takes no user or password");
}

// Everything but query and userinfo, re-encoded: a base_url override for a test server or a proxy.
std::optional<std::string> take_base_url(UrlParts& p) {
  for (auto it = p.query.begin(); it != p.query.end(); ++it) {
    if (it->first == "base_url") {
      std::string value = it->second;
      p.query.erase(it);
      return value;
    }
  }
  return std::nullopt;
}

std::string joined_path(const std::vector<std::string>& segments, std::size_t count) {
  std::string out;
  for (std::size_t i = 0; i < count; ++i) out.append("/").append(detail::percent_encode(segments[i]));
  return out;
}

json slack(UrlParts p) {
  no_userinfo(p);
  const auto base = take_base_url(p);
  // slack://T…/B…/X…: the three parts of the webhook URL; the host position holds the first.
  if (p.host_port.empty() || p.segments.size() != 2)
    bad("slack", "expected slack://T…/B…/X… (the webhook URL's three parts)");
  json c{{"type", "SlackWebHook"},
         {"url", base.value_or("https://hooks.slack.com") + "/services/" + p.host_port + "/" +
                     detail::percent_encode(p.segments[0]) + "/" + detail::percent_encode(p.segments[1])}};
  apply_query(p, c,
              {{"channel", Kind::text},
               {"username", Kind::text},
               {"icon_emoji", Kind::text},
               {"icon_url", Kind::text}});
  return c;
}

json discord(UrlParts p) {
  no_userinfo(p);
  const auto base = take_base_url(p);
  if (p.host_port.empty() || p.segments.size() != 1)
    bad("discord", "expected discord://WEBHOOK_ID/WEBHOOK_TOKEN");
  json c{{"type", "DiscordWebHook"},
         {"url", base.value_or("https://discord.com") + "/api/webhooks/" + p.host_port + "/" +
                     detail::percent_encode(p.segments[0])}};
  apply_query(p, c, {{"username", Kind::text}, {"avatar_url", Kind::text}, {"title", Kind::text}});
  return c;
}

json telegram(UrlParts p) {
  // The token (123456:ABC…) holds a ':' that is no port: the whole authority is the token.
  if (p.authority.empty() || p.authority.find('@') != std::string::npos || p.segments.size() != 1) {
    bad("tgram", "expected tgram://BOT_TOKEN/CHAT_ID (one chat)");
  }
  json c{{"type", "TelegramHook"},
         {"token", decoded("tgram", p.authority, "token")},
         {"chat_id", p.segments[0]}};
  if (const auto base = take_base_url(p)) c["base_url"] = *base;
  apply_query(p, c, {{"parse_mode", Kind::text}, {"disable_notification", Kind::boolean}});
  return c;
}

json ntfy(UrlParts p) {
  json c{{"type", "NtfyHook"}};
  if (p.segments.empty()) {
    // ntfy://topic: the public server, always over https.
    if (p.has_userinfo || p.host_port.empty())
      bad(p.scheme, "expected ntfy://[user:password@]host[:port]/topic or ntfy://topic");
    c["topic"] = p.host_port;
  } else {
    require_host(p, "ntfy://[user:password@]host[:port]/topic");
    c["server"] =
        web_scheme(p.scheme, "ntfy") + "://" + p.host_port + joined_path(p.segments, p.segments.size() - 1);
    c["topic"] = p.segments.back();
    if (p.has_userinfo) {
      if (p.password.empty()) bad(p.scheme, "a user needs a password (user:password@host)");
      c["user"] = p.user;
      c["password"] = p.password;
    }
  }
  apply_query(p, c,
              {{"title", Kind::text},
               {"priority", Kind::integer},
               {"tags", Kind::list},
               {"click", Kind::text},
               {"token", Kind::text}});
  return c;
}

json gotify(UrlParts p) {
  no_userinfo(p);
  require_host(p, "gotify://host[:port][/path]/APP_TOKEN");
  if (p.segments.empty()) bad(p.scheme, "expected gotify://host[:port][/path]/APP_TOKEN");
  json c{{"type", "GotifyHook"},
         {"server", web_scheme(p.scheme, "gotify") + "://" + p.host_port +
                        joined_path(p.segments, p.segments.size() - 1)},
         {"token", p.segments.back()}};
  apply_query(p, c, {{"title", Kind::text}, {"priority", Kind::integer}});
  return c;
}

json mattermost(UrlParts p) {
  require_host(p, "mmost://[botname@]host[:port][/path]/TOKEN");
  if (p.segments.empty()) bad(p.scheme, "expected mmost://[botname@]host[:port][/path]/TOKEN");
  json c{{"type", "MattermostWebHook"},
         {"host", web_scheme(p.scheme, "mmost") + "://" + p.host_port +
                      joined_path(p.segments, p.segments.size() - 1)},
         {"token", p.segments.back()}};
  if (p.has_userinfo) c["username"] = p.user;  // Apprise's botname@
  apply_query(p, c,
              {{"channel", Kind::text},
               {"username", Kind::text},
               {"icon_url", Kind::text},
               {"icon_emoji", Kind::text}});
  return c;
}

json webhook(const UrlParts& p, std::string_view original) {
  require_host(p, "json://host[:port]/path");
  // The URL as written, with the scheme swapped and eventhooks' own parameters (+Header=value) taken out:
  // the other parameters belong to the receiving server.
  const auto scheme_end = original.find("://");
  std::string_view rest = original.substr(scheme_end + 3);
  rest = rest.substr(0, std::min(rest.find('?'), rest.size()));
  std::string url = web_scheme(p.scheme, "json") + "://" + std::string(rest);
  json headers = json::object();
  std::string query;
  for (const auto& [key, value] : p.query) {
    if (!key.empty() && key[0] == '+') {
      headers[key.substr(1)] = value;
    } else {
      query.append(query.empty() ? "?" : "&")
          .append(detail::percent_encode(key))
          .append("=")
          .append(detail::percent_encode(value));
    }
  }
  json c{{"type", "WebHook"}, {"url", url + query}};
  if (!headers.empty()) c["headers"] = std::move(headers);
  return c;
}

json mail(const UrlParts& p) {
  require_host(p, "mailto://user:password@host[:port]?to=…");
  if (!p.segments.empty()) bad(p.scheme, "takes no path (expected mailto://user:password@host[:port]?to=…)");
  std::string host = p.host_port;
  json c{{"type", "SimpleEmailHook"}};
  if (const auto colon = host.rfind(':'); colon != std::string::npos && host.find(']') == std::string::npos) {
    const std::string port = host.substr(colon + 1);
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) {
      bad(p.scheme, "has an invalid port");
    }
    c["port"] = std::stoi(port);
    host = host.substr(0, colon);
  }
  c["host"] = host;
  if (p.has_userinfo) {
    if (p.password.empty()) bad(p.scheme, "a user needs a password (user:password@host)");
    c["credentials"] = p.user + ":" + p.password;
    c["tls"] = p.scheme == "mailtos" ? json("implicit") : json(true);
  } else {
    // No credentials: a relay that takes plain SMTP without AUTH, as `tls: false` means in a config.
    if (p.scheme == "mailtos")
      bad(p.scheme, "needs user:password@ (implicit TLS is for authenticated sending)");
    c["tls"] = false;
  }
  if (!c.contains("port")) c["port"] = p.scheme == "mailtos" ? 465 : (p.has_userinfo ? 587 : 25);
  // The sender: ?from=, else the user when it is an address, else user@host.
  std::string sender =
      p.user.find('@') != std::string::npos ? p.user : (p.user.empty() ? "" : p.user + "@" + host);
  json query_keys = json::object();
  apply_query(p, query_keys,
              {{"to", Kind::text}, {"from", Kind::text}, {"name", Kind::text}, {"subject", Kind::text}});
  if (query_keys.contains("from")) sender = query_keys["from"].get<std::string>();
  if (sender.empty()) bad(p.scheme, "needs ?from=address (or a user that is an address)");
  c["sender"] = sender;
  c["recipients"] = query_keys.contains("to") ? query_keys["to"] : json(sender);
  if (query_keys.contains("name")) c["sender_name"] = query_keys["name"];
  if (query_keys.contains("subject")) c["subject"] = query_keys["subject"];
  return c;
}

json amqp(UrlParts p) {
  require_host(p, "amqp://user:password@host[:port]/[vhost/]exchange");
  if (p.segments.empty() || p.segments.size() > 2) {
    bad(p.scheme, "expected amqp://user:password@host[:port]/[vhost/]exchange?routing_key=…");
  }
  // The broker's own URI (vhost in the path) for RabbitMqHook's `url`; the exchange is the last segment.
  std::string broker = p.scheme + "://" + p.authority;
  if (p.segments.size() == 2) broker.append("/").append(detail::percent_encode(p.segments[0]));
  json c{{"type", "RabbitMqHook"}, {"url", broker}, {"exchange", p.segments.back()}};
  apply_query(p, c, {{"routing_key", Kind::text}});
  return c;
}

json pagerduty(UrlParts p) {
  no_userinfo(p);
  if (p.host_port.empty() || !p.segments.empty()) bad("pagerduty", "expected pagerduty://ROUTING_KEY");
  json c{{"type", "PagerDutyHook"}, {"routing_key", decoded("pagerduty", p.host_port, "routing key")}};
  if (const auto base = take_base_url(p)) c["base_url"] = *base;
  apply_query(p, c,
              {{"severity", Kind::text},
               {"source", Kind::text},
               {"event_action", Kind::text},
               {"dedup_key", Kind::text},
               {"component", Kind::text},
               {"group", Kind::text},
               {"class", Kind::text}});
  return c;
}

using Expander = std::function<json(UrlParts, std::string_view)>;

const std::map<std::string, Expander>& expanders() {
  static const std::map<std::string, Expander> table = [] {
    std::map<std::string, Expander> t;
    auto plain = [](auto f) { return [f](UrlParts p, std::string_view) { return f(std::move(p)); }; };
    t["slack"] = plain(slack);
    t["discord"] = plain(discord);
    t["tgram"] = plain(telegram);
    t["ntfy"] = t["ntfys"] = plain(ntfy);
    t["gotify"] = t["gotifys"] = plain(gotify);
    t["mmost"] = t["mmosts"] = plain(mattermost);
    t["json"] = t["jsons"] = [](const UrlParts& p, std::string_view url) { return webhook(p, url); };
    t["mailto"] = t["mailtos"] = plain(mail);
    t["amqp"] = t["amqps"] = plain(amqp);
    t["pagerduty"] = plain(pagerduty);
    return t;
  }();
  return table;
}

}  // namespace

std::vector<std::string> service_url_schemes() {
  std::vector<std::string> out;
  for (const auto& [scheme, expander] : expanders()) out.push_back(scheme);
  return out;
}

nlohmann::json hook_config_from_url(std::string_view url) {
  UrlParts parts = split(url);
  auto it = expanders().find(parts.scheme);
  if (it == expanders().end()) {
    std::string message = "unknown scheme '" + parts.scheme + "'";
    if (auto near = detail::nearest_name(parts.scheme, service_url_schemes()))
      message += "; did you mean '" + *near + "'?";
    if (parts.scheme == "http" || parts.scheme == "https")
      message += " (an http(s) URL is a WebHook's: json:// or jsons://)";
    throw ConfigError("service URL", "url", message + " (see docs/urls.md)");
  }
  return it->second(std::move(parts), url);
}

HookPtr hook_from_url(const std::string& name, std::string_view url) {
  return HookRegistry::with_builtins().build(name, nlohmann::json{{"url", std::string(url)}});
}

}  // namespace eventhooks
