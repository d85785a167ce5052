// The library's logger when the application has not set one.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include "eventhooks/logger.hpp"

namespace eventhooks {
namespace {

TEST(Logger, Default_IsWarn_SoThatAnEmbeddingApplicationSeesOnlyProblems) {
  const auto previous = logger();
  set_logger(nullptr);
  const auto fresh = logger();
  EXPECT_EQ(fresh->level(), spdlog::level::warn);
  set_logger(previous);
}

}  // namespace
}  // namespace eventhooks
