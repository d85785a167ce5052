// RetryPolicy: exponential backoff with full jitter, cap, Retry-After, max attempts, max age.
#include <gtest/gtest.h>

#include "eventhooks/retry.hpp"

using namespace std::chrono_literals;
using eventhooks::Error;
using eventhooks::ErrorCode;
using eventhooks::RetryPolicy;

namespace {

RetryPolicy no_jitter() {
  return RetryPolicy{.max_attempts = 8,
                     .max_age = 3600s,
                     .initial_delay = 100ms,
                     .multiplier = 2.0,
                     .max_delay = 1000ms,
                     .jitter = false};
}

Error retryable() {
  return Error{ErrorCode::unavailable, "HTTP 503", true, 503, {}};
}

}  // namespace

TEST(RetryPolicy_NextDelay, FirstRetry_WaitsInitialDelay) {
  EXPECT_EQ(no_jitter().next_delay(1, 0.7), 100ms);
}

TEST(RetryPolicy_NextDelay, EachAttempt_MultipliesTheWait) {
  const auto p = no_jitter();
  EXPECT_EQ(p.next_delay(2, 0.7), 200ms);
  EXPECT_EQ(p.next_delay(3, 0.7), 400ms);
  EXPECT_EQ(p.next_delay(4, 0.7), 800ms);
}

TEST(RetryPolicy_NextDelay, LongBackoff_IsCappedAtMaxDelay) {
  const auto p = no_jitter();
  EXPECT_EQ(p.next_delay(5, 0.7), 1000ms);
  EXPECT_EQ(p.next_delay(10'000, 0.7), 1000ms);  // no overflow for absurd attempt counts
}

TEST(RetryPolicy_NextDelay, FullJitter_ScalesTheBackoffByTheRandomPoint) {
  auto p = no_jitter();
  p.jitter = true;
  EXPECT_EQ(p.next_delay(3, 0.0), 0ms);
  EXPECT_EQ(p.next_delay(3, 0.5), 200ms);
  EXPECT_EQ(p.next_delay(10, 0.25), 250ms);  // jitter applies to the capped value
}

TEST(RetryPolicy_NextDelay, RetryAfterLongerThanBackoff_IsHonoured) {
  EXPECT_EQ(no_jitter().next_delay(1, 0.5, 7s), 7000ms);
}

TEST(RetryPolicy_NextDelay, RetryAfterShorterThanBackoff_KeepsTheBackoff) {
  EXPECT_EQ(no_jitter().next_delay(4, 0.5, 0s), 800ms);
}

TEST(RetryPolicy_Decide, PermanentError_IsNotRetried) {
  const auto d = no_jitter().decide(1, Error{ErrorCode::http_status, "HTTP 404", false, 404, {}}, 0ms, 0.5);
  EXPECT_FALSE(d.retry);
  EXPECT_NE(d.reason.find("permanent"), std::string::npos) << d.reason;
}

TEST(RetryPolicy_Decide, RetryableErrorBelowMaxAttempts_IsRetriedAfterNextDelay) {
  const auto d = no_jitter().decide(2, retryable(), 0ms, 0.5);
  EXPECT_TRUE(d.retry);
  EXPECT_EQ(d.delay, 200ms);
}

TEST(RetryPolicy_Decide, MaxAttemptsReached_GivesUp) {
  const auto d = no_jitter().decide(8, retryable(), 0ms, 0.5);
  EXPECT_FALSE(d.retry);
  EXPECT_NE(d.reason.find("8 attempts"), std::string::npos) << d.reason;
}

TEST(RetryPolicy_Decide, MaxAttemptsOne_NeverRetries) {
  auto p = no_jitter();
  p.max_attempts = 1;
  EXPECT_FALSE(p.decide(1, retryable(), 0ms, 0.5).retry);
}

TEST(RetryPolicy_Decide, NextAttemptPastMaxAge_GivesUp) {
  const auto d = no_jitter().decide(1, retryable(), 3600s - 50ms, 0.5);
  EXPECT_FALSE(d.retry);
  EXPECT_NE(d.reason.find("max_age"), std::string::npos) << d.reason;
}

TEST(RetryPolicy_Decide, RetryAfterBeyondMaxAge_GivesUp) {
  Error e = retryable();
  e.retry_after = 7200s;
  EXPECT_FALSE(no_jitter().decide(1, e, 0ms, 0.5).retry);
}

TEST(RetryPolicy_Decide, RetryAfter_SetsTheDelay) {
  Error e = retryable();
  e.retry_after = 3s;
  const auto d = no_jitter().decide(1, e, 0ms, 0.5);
  EXPECT_TRUE(d.retry);
  EXPECT_EQ(d.delay, 3000ms);
}
