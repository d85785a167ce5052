// The Prometheus text writer and the rendering of a MetricsSnapshot: escaping, family grouping, cumulative
// histogram buckets, refused names. Real parsers read this text in tests/integration/metrics_test.cpp.
#include <gtest/gtest.h>

#include <array>
#include <limits>
#include <stdexcept>
#include <string>

#include "eventhooks/metrics.hpp"
#include "eventhooks/prometheus.hpp"

using namespace eventhooks;

namespace {

bool contains(const std::string& text, const std::string& line) {
  return text.find(line) != std::string::npos;
}

MetricsSnapshot sample_snapshot() {
  MetricsSnapshot s;
  s.fired = 7;
  s.enqueued = 9;
  s.queue_depth = 3;
  s.retries_waiting = 2;
  s.outbox_in_flight = 1;
  s.dead_letters = 4;
  HookMetrics h;
  h.hook = "ops \"pager\"";  // a label value to escape
  h.type = "WebHook";
  h.delivered = 5;
  h.failures.push_back({.code = ErrorCode::http_status, .retried = 0, .dead = 1});
  h.failures.push_back({.code = ErrorCode::unavailable, .retried = 2, .dead = 0});
  h.latency.counts[0] = 3;  // <= 0.5 ms
  h.latency.counts[2] = 4;  // (1 ms, 2.5 ms]
  h.latency.counts.back() = 1;
  h.latency.sum_seconds = 42.5;
  s.hooks.push_back(h);
  return s;
}

}  // namespace

TEST(PrometheusWriter, LabelValueEscapesBackslashQuoteAndNewline) {
  PrometheusWriter w;
  w.gauge("x", "h").sample({{"path", "C:\\dir \"a\"\nnext"}}, 1);
  EXPECT_TRUE(contains(w.text(), "x{path=\"C:\\\\dir \\\"a\\\"\\nnext\"} 1\n")) << w.text();
}

TEST(PrometheusWriter, HelpEscapesBackslashAndNewlineButNotQuotes) {
  PrometheusWriter w;
  w.counter("x_total", "a \\ b\n\"c\"");
  EXPECT_EQ(w.text(), "# HELP x_total a \\\\ b\\n\"c\"\n# TYPE x_total counter\n");
}

TEST(PrometheusWriter, SampleWithoutLabelsHasNoBraces) {
  PrometheusWriter w;
  w.counter("events_total", "e").sample({}, std::uint64_t{18446744073709551615u});
  EXPECT_TRUE(contains(w.text(), "\nevents_total 18446744073709551615\n")) << w.text();
}

TEST(PrometheusWriter, DoublesUseTheFormatsSpellingOfSpecialValues) {
  PrometheusWriter w;
  w.gauge("g", "g")
      .sample({{"v", "a"}}, 0.25)
      .sample({{"v", "b"}}, std::numeric_limits<double>::infinity())
      .sample({{"v", "c"}}, -std::numeric_limits<double>::infinity())
      .sample({{"v", "d"}}, std::numeric_limits<double>::quiet_NaN());
  EXPECT_TRUE(contains(w.text(), "g{v=\"a\"} 0.25\n"));
  EXPECT_TRUE(contains(w.text(), "g{v=\"b\"} +Inf\n"));
  EXPECT_TRUE(contains(w.text(), "g{v=\"c\"} -Inf\n"));
  EXPECT_TRUE(contains(w.text(), "g{v=\"d\"} NaN\n"));
}

TEST(PrometheusWriter, HistogramBucketsAreCumulativeAndEndWithInf) {
  PrometheusWriter w;
  const std::array<double, 3> bounds{0.1, 1, 10};
  const std::array<std::uint64_t, 4> counts{2, 0, 5, 1};
  w.histogram("lat_seconds", "l").observations({{"hook", "a"}}, bounds, counts, 12.5);
  EXPECT_EQ(w.text(),
            "# HELP lat_seconds l\n# TYPE lat_seconds histogram\n"
            "lat_seconds_bucket{hook=\"a\",le=\"0.1\"} 2\n"
            "lat_seconds_bucket{hook=\"a\",le=\"1\"} 2\n"
            "lat_seconds_bucket{hook=\"a\",le=\"10\"} 7\n"
            "lat_seconds_bucket{hook=\"a\",le=\"+Inf\"} 8\n"
            "lat_seconds_sum{hook=\"a\"} 12.5\n"
            "lat_seconds_count{hook=\"a\"} 8\n");
}

TEST(PrometheusWriter, RefusesWhatWouldNotParse) {
  PrometheusWriter w;
  EXPECT_THROW(w.counter("events", "no _total"), std::invalid_argument);
  EXPECT_THROW(w.gauge("1x", "starts with a digit"), std::invalid_argument);
  EXPECT_THROW(w.gauge("a-b", "dash"), std::invalid_argument);
  EXPECT_THROW(w.sample({}, 1), std::invalid_argument);  // no family yet
  w.gauge("g", "g");
  EXPECT_THROW(w.gauge("g", "again"), std::invalid_argument);
  EXPECT_THROW(w.sample({{"__reserved", "x"}}, 1), std::invalid_argument);
  EXPECT_THROW(w.sample({{"le", "x"}}, 1), std::invalid_argument);
  EXPECT_THROW(w.sample({{"a", "x"}, {"a", "y"}}, 1), std::invalid_argument);
  EXPECT_THROW(w.sample({{"bad-name", "x"}}, 1), std::invalid_argument);
  const std::array<double, 1> bounds{1};
  const std::array<std::uint64_t, 1> too_few{1};
  EXPECT_THROW(w.observations({}, bounds, too_few, 0), std::invalid_argument);  // a gauge family
  w.histogram("h", "h");
  EXPECT_THROW(w.observations({}, bounds, too_few, 0), std::invalid_argument);
  EXPECT_THROW(w.sample({}, 1), std::invalid_argument);  // a histogram takes observations
}

TEST(RenderPrometheus, EveryFamilyHasHelpAndTypeAndTheEventhooksPrefix) {
  const auto text = render_prometheus(sample_snapshot());
  std::size_t helps = 0, types = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto end = text.find('\n', pos);
    ASSERT_NE(end, std::string::npos) << "the last line must end in \\n";
    const auto line = text.substr(pos, end - pos);
    if (line.starts_with("# HELP ")) ++helps;
    if (line.starts_with("# TYPE ")) ++types;
    const auto name = line.starts_with("# ") ? line.substr(7) : line;
    EXPECT_TRUE(name.starts_with("eventhooks_")) << line;
    pos = end + 1;
  }
  EXPECT_EQ(helps, types);
  EXPECT_EQ(helps, 11u);
}

TEST(RenderPrometheus, DeliveriesByHookTypeOutcomeAndErrorCode) {
  const auto text = render_prometheus(sample_snapshot());
  const std::string hook = "hook=\"ops \\\"pager\\\"\",type=\"WebHook\"";
  EXPECT_TRUE(
      contains(text, "eventhooks_deliveries_total{" + hook + ",outcome=\"delivered\",error_code=\"\"} 5\n"))
      << text;
  EXPECT_TRUE(contains(
      text, "eventhooks_deliveries_total{" + hook + ",outcome=\"dead\",error_code=\"http_status\"} 1\n"));
  EXPECT_TRUE(contains(
      text, "eventhooks_deliveries_total{" + hook + ",outcome=\"retried\",error_code=\"unavailable\"} 2\n"));
  // Zero series of a code that occurred are left out, not written as 0.
  EXPECT_FALSE(contains(text, "outcome=\"retried\",error_code=\"http_status\""));
  EXPECT_TRUE(contains(text, "eventhooks_events_fired_total 7\n"));
  EXPECT_TRUE(contains(text, "eventhooks_jobs_enqueued_total 9\n"));
}

TEST(RenderPrometheus, LatencyHistogramUsesTheDocumentedBucketsCumulatively) {
  const auto text = render_prometheus(sample_snapshot());
  const std::string hook = "hook=\"ops \\\"pager\\\"\",type=\"WebHook\"";
  const std::string name = "eventhooks_delivery_attempt_duration_seconds";
  EXPECT_TRUE(contains(text, name + "_bucket{" + hook + ",le=\"0.0005\"} 3\n")) << text;
  EXPECT_TRUE(contains(text, name + "_bucket{" + hook + ",le=\"0.001\"} 3\n"));
  EXPECT_TRUE(contains(text, name + "_bucket{" + hook + ",le=\"0.0025\"} 7\n"));
  EXPECT_TRUE(contains(text, name + "_bucket{" + hook + ",le=\"30\"} 7\n"));
  EXPECT_TRUE(contains(text, name + "_bucket{" + hook + ",le=\"+Inf\"} 8\n"));
  EXPECT_TRUE(contains(text, name + "_sum{" + hook + "} 42.5\n"));
  EXPECT_TRUE(contains(text, name + "_count{" + hook + "} 8\n"));
}

TEST(RenderPrometheus, OutboxDepthAndRetryQueue) {
  const auto text = render_prometheus(sample_snapshot());
  EXPECT_TRUE(contains(text, "eventhooks_outbox_up 1\n"));
  EXPECT_TRUE(contains(text, "eventhooks_outbox_jobs{state=\"pending\"} 3\n"));
  EXPECT_TRUE(contains(text, "eventhooks_outbox_jobs{state=\"in_flight\"} 1\n"));
  EXPECT_TRUE(contains(text, "eventhooks_outbox_jobs{state=\"dead\"} 4\n"));
  EXPECT_TRUE(contains(text, "eventhooks_retry_queue_jobs 2\n"));
}

TEST(RenderPrometheus, AnOutboxThatCouldNotAnswerIsDownWithoutDepthSamples) {
  auto s = sample_snapshot();
  s.outbox_ok = false;
  const auto text = render_prometheus(s);
  EXPECT_TRUE(contains(text, "eventhooks_outbox_up 0\n"));
  EXPECT_FALSE(contains(text, "eventhooks_outbox_jobs{"));
  EXPECT_FALSE(contains(text, "\neventhooks_retry_queue_jobs "));
}

TEST(RenderPrometheus, ApplicationFamiliesGoInTheSameWriter) {
  PrometheusWriter w;
  write_prometheus(w, sample_snapshot());
  w.counter("myapp_http_requests_total", "Requests by status").sample({{"status", "202"}}, 3);
  EXPECT_TRUE(contains(w.text(), "eventhooks_events_fired_total 7\n"));
  EXPECT_TRUE(contains(w.text(), "myapp_http_requests_total{status=\"202\"} 3\n"));
  // A family the library already wrote cannot be written again under the same name.
  EXPECT_THROW(w.counter("eventhooks_events_fired_total", "again"), std::invalid_argument);
}
