#include "eventhooks/outcome.hpp"

namespace eventhooks {

const char* Outcome::kind_name() const noexcept {
  switch (kind) {
    case Kind::delivered: return "delivered";
    case Kind::skipped: return "skipped";
    case Kind::failed: return "failed";
  }
  return "failed";
}

std::string Outcome::detail() const {
  switch (kind) {
    case Kind::delivered: return receipt.detail;
    case Kind::skipped: return reason;
    case Kind::failed: return error ? error->to_string() : std::string("failed");
  }
  return {};
}

}  // namespace eventhooks
