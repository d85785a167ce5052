// The eventhooks binary as users and scripts run it: output lines, --json shape, exit codes, options.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "fake_services.hpp"
#include "http_test_server.hpp"
#include "test_env.hpp"

namespace eventhooks {
namespace {

struct CliRun {
  int code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_file(const std::filesystem::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The whitespace-separated columns of one output line.
std::vector<std::string> columns(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream in(line);
  for (std::string word; in >> word;) out.push_back(word);
  return out;
}

class CliTest : public ::testing::Test {
 protected:
  // Runs the CLI in the temp dir with stdout and stderr kept apart; `args` is shell text.
  CliRun run(const std::string& args, const std::string& stdin_text = "") {
    const auto out_file = dir_ / "stdout.txt";
    const auto err_file = dir_ / "stderr.txt";
    const auto in_file = dir_ / "stdin.txt";
    write_file(in_file, stdin_text);
    const std::string command = "cd '" + dir_.path().string() + "' && { '" + EVENTHOOKS_CLI + "' " + args +
                                " <'" + in_file.string() + "' >'" + out_file.string() + "' 2>'" +
                                err_file.string() + "'; }";
    CliRun result;
    std::string ignored;
    result.code = test::run_command(command, &ignored);
    result.out = read_file(out_file);
    result.err = read_file(err_file);
    return result;
  }

  std::string config(const std::string& yaml, const std::string& name = "hooks.yaml") {
    write_file(dir_ / name, yaml);
    return name;
  }

  std::string two_file_hooks() {
    return config(
        "hooks:\n"
        "  everywhere:\n"
        "    type: FileHook\n"
        "    path: all.jsonl\n"
        "  outside_only:\n"
        "    type: FileHook\n"
        "    path: outside.jsonl\n"
        "    realms: [outside]\n");
  }

  test::TempDir dir_;
};

// --- trigger ---------------------------------------------------------------------------------------------

TEST_F(CliTest, Trigger_FileHook_PrintsDeliveredAndAppendsTheEvent) {
  two_file_hooks();
  const CliRun r = run("trigger -c hooks.yaml --realm outside --data '{\"service\": \"api\", \"ok\": true}'");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  const auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_EQ(columns(lines[0])[0], "everywhere");
  EXPECT_EQ(columns(lines[0])[1], "delivered");
  EXPECT_EQ(columns(lines[1])[0], "outside_only");
  EXPECT_EQ(columns(lines[1])[1], "delivered");
  const auto written = nlohmann::json::parse(lines_of(read_file(dir_ / "all.jsonl")).at(0));
  EXPECT_EQ(written["data"], nlohmann::json({{"service", "api"}, {"ok", true}}));
  EXPECT_EQ(written["realm"], "outside");
  EXPECT_EQ(written["name"], "trigger");  // no --name: the event is called "trigger"
}

TEST_F(CliTest, Trigger_RealmNotInHooksRealms_SkipsItAndExitsZero) {
  two_file_hooks();
  const CliRun r = run("trigger -c hooks.yaml --realm inside --data hello");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  const auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(columns(lines[0])[1], "delivered");
  EXPECT_EQ(columns(lines[1])[1], "skipped");
  EXPECT_NE(lines[1].find("realm 'inside' not in [outside]"), std::string::npos) << lines[1];
  EXPECT_FALSE(std::filesystem::exists(dir_ / "outside.jsonl"));
}

TEST_F(CliTest, Trigger_TextData_IsSentAsString) {
  two_file_hooks();
  ASSERT_EQ(run("trigger -c hooks.yaml --data 'disk full'").code, 0);
  EXPECT_EQ(nlohmann::json::parse(read_file(dir_ / "all.jsonl"))["data"], "disk full");
}

TEST_F(CliTest, Trigger_Json_PrintsOneObjectPerHookInConfigOrder) {
  two_file_hooks();
  const CliRun r = run("trigger -c hooks.yaml --json --data '{\"a\": 1}'");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 2u);
  const auto first = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(first["hook"], "everywhere");
  EXPECT_EQ(first["type"], "FileHook");
  EXPECT_EQ(first["outcome"], "delivered");
  EXPECT_TRUE(first["detail"].is_string());
  EXPECT_EQ(first["event_id"].get<std::string>().size(), 36u);
  EXPECT_TRUE(first.contains("status"));
  EXPECT_TRUE(first["error"].is_null());
  const auto second = nlohmann::json::parse(lines[1]);
  EXPECT_EQ(second["hook"], "outside_only");
  EXPECT_EQ(second["outcome"], "skipped");
}

TEST_F(CliTest, Trigger_WebHookToClosedPort_FailsWithExitOneAndErrorObject) {
  config(
      "hooks:\n  sink:\n    type: FileHook\n    path: all.jsonl\n  down:\n    type: WebHook\n    url: "
      "http://127.0.0.1:" +
      std::to_string(test::closed_port()) + "/in\n    timeout: 3\n    connect_timeout: 2\n");
  const CliRun r = run("trigger -c hooks.yaml --json --data x");
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  const auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_EQ(nlohmann::json::parse(lines[0])["outcome"], "delivered");
  const auto failed = nlohmann::json::parse(lines[1]);
  EXPECT_EQ(failed["hook"], "down");
  EXPECT_EQ(failed["outcome"], "failed");
  EXPECT_EQ(failed["error"]["code"], "connect");
  EXPECT_EQ(failed["error"]["retryable"], true);
  EXPECT_TRUE(failed["error"]["message"].is_string());
  EXPECT_TRUE(failed["error"].contains("retry_after"));
}

TEST_F(CliTest, Trigger_DeliveryFailureText_SaysFailed) {
  config("hooks:\n  down:\n    type: WebHook\n    url: http://127.0.0.1:" +
         std::to_string(test::closed_port()) + "/in\n    timeout: 3\n");
  const CliRun r = run("trigger -c hooks.yaml");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(columns(lines_of(r.out).at(0))[1], "failed");
}

TEST_F(CliTest, Trigger_DryRun_SendsNothing) {
  two_file_hooks();
  const CliRun r = run("trigger -c hooks.yaml --dry-run --realm nowhere --data '{\"a\": 1}'");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(columns(lines[0])[1], "would-fire");
  EXPECT_NE(lines[0].find("FileHook 'everywhere'"), std::string::npos) << lines[0];
  EXPECT_EQ(columns(lines[1])[1], "skipped");
  EXPECT_FALSE(std::filesystem::exists(dir_ / "all.jsonl"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "outside.jsonl"));
}

TEST_F(CliTest, Trigger_HookOption_FiresOnlyTheNamedHooks) {
  two_file_hooks();
  const CliRun r = run("trigger -c hooks.yaml --hook outside_only --realm outside");
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(lines_of(r.out).size(), 1u);
  EXPECT_EQ(columns(lines_of(r.out)[0])[0], "outside_only");
  EXPECT_FALSE(std::filesystem::exists(dir_ / "all.jsonl"));
}

TEST_F(CliTest, Trigger_UnknownHookName_IsUsageError) {
  two_file_hooks();
  const CliRun r = run("trigger -c hooks.yaml --hook nope");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("no hook named 'nope'"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "all.jsonl"));
}

TEST_F(CliTest, Trigger_DisabledHook_IsSkipped) {
  config("hooks:\n  off:\n    type: FileHook\n    path: off.jsonl\n    enabled: false\n");
  const CliRun r = run("trigger -c hooks.yaml");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("hook is disabled"), std::string::npos) << r.out;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "off.jsonl"));
}

TEST_F(CliTest, Trigger_DataFromFile_IsRead) {
  two_file_hooks();
  write_file(dir_ / "event.json", "{\"from\": \"file\"}\n");
  ASSERT_EQ(run("trigger -c hooks.yaml --data @event.json").code, 0);
  EXPECT_EQ(nlohmann::json::parse(read_file(dir_ / "all.jsonl"))["data"]["from"], "file");
}

TEST_F(CliTest, Trigger_DataDash_ReadsStdin) {
  two_file_hooks();
  ASSERT_EQ(run("trigger -c hooks.yaml --data -", "{\"from\": \"stdin\"}").code, 0);
  EXPECT_EQ(nlohmann::json::parse(read_file(dir_ / "all.jsonl"))["data"]["from"], "stdin");
}

TEST_F(CliTest, Trigger_DataDash_DropsOneTrailingLineBreak) {
  config("hooks:\n  sink:\n    type: FileHook\n    path: out.jsonl\n");
  for (const std::string input : {"hello\n", "hello\r\n", "hello\n\n", "hello"})
    ASSERT_EQ(run("trigger -c hooks.yaml --data -", input).code, 0);
  const auto lines = lines_of(read_file(dir_ / "out.jsonl"));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(nlohmann::json::parse(lines[0])["data"], "hello");
  EXPECT_EQ(nlohmann::json::parse(lines[1])["data"], "hello");
  EXPECT_EQ(nlohmann::json::parse(lines[2])["data"], "hello\n");
  EXPECT_EQ(nlohmann::json::parse(lines[3])["data"], "hello");
}

TEST_F(CliTest, Trigger_DataFileMissing_IsUsageError) {
  two_file_hooks();
  const CliRun r = run("trigger -c hooks.yaml --data @missing.json");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("missing.json"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "all.jsonl"));
}

TEST_F(CliTest, Trigger_BrokenJsonObject_IsUsageErrorWithPosition) {
  two_file_hooks();
  const CliRun r = run("trigger -c hooks.yaml --data '{\"bad'");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("not valid JSON (at byte"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "all.jsonl"));
  // Well-formed, but with a number no double holds: a usage error too ("unexpected error", exit 4, before).
  const CliRun overflow = run("trigger -c hooks.yaml --data '{\"n\": 1e999}'");
  EXPECT_EQ(overflow.code, 2) << overflow.err;
  EXPECT_NE(overflow.err.find("1e999"), std::string::npos) << overflow.err;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "all.jsonl"));
}

TEST_F(CliTest, Trigger_InvalidConfig_ExitsThreeAndSendsNothing) {
  config(
      "hooks:\n  sink:\n    type: FileHook\n    path: all.jsonl\n  bad:\n    type: WebHok\n    url: "
      "https://x.example\n");
  const CliRun r = run("trigger -c hooks.yaml");
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.err.find("hooks.yaml:6: hook 'bad': key 'type'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("did you mean 'WebHook'?"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "all.jsonl"));
}

TEST_F(CliTest, Trigger_MissingConfigFile_ExitsThree) {
  const CliRun r = run("trigger -c nowhere.yaml");
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.err.find("nowhere.yaml"), std::string::npos) << r.err;
}

TEST_F(CliTest, Trigger_WithoutConfigOption_IsUsageError) {
  EXPECT_EQ(run("trigger").code, 2);
}

TEST_F(CliTest, UnknownOption_IsUsageError) {
  two_file_hooks();
  EXPECT_EQ(run("trigger -c hooks.yaml --bogus").code, 2);
}

TEST_F(CliTest, NoSubcommand_IsUsageError) {
  EXPECT_EQ(run("").code, 2);
}

TEST_F(CliTest, UnknownCommand_NamedWithTheNearestSuggested) {
  const CliRun r = run("-v trigr -c hooks.yaml");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("unknown command 'trigr'; did you mean 'trigger'?"), std::string::npos) << r.err;
  const CliRun far = run("frobnicate");
  EXPECT_EQ(far.code, 2);
  EXPECT_NE(far.err.find("unknown command 'frobnicate'"), std::string::npos) << far.err;
  EXPECT_EQ(far.err.find("did you mean"), std::string::npos) << far.err;
}

// --- the event's name: one rule for sending now and for --enqueue
// -------------------------------------------

std::string outbox_config() {
  return "outbox:\n  path: state/deep/outbox.db\n"
         "hooks:\n"
         "  first:\n    type: FileHook\n    path: first.jsonl\n"
         "  second:\n    type: FileHook\n    path: second.jsonl\n";
}

TEST_F(CliTest, Trigger_EventName_IsNameOptionOrTrigger_SameEventForEveryHook) {
  config(outbox_config());
  ASSERT_EQ(run("trigger -c hooks.yaml --data x").code, 0);
  ASSERT_EQ(run("trigger -c hooks.yaml --name door.opened --data y").code, 0);
  const auto first = lines_of(read_file(dir_ / "first.jsonl"));
  const auto second = lines_of(read_file(dir_ / "second.jsonl"));
  ASSERT_EQ(first.size(), 2u);
  ASSERT_EQ(second.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(first[0])["name"], "trigger");
  EXPECT_EQ(nlohmann::json::parse(first[1])["name"], "door.opened");
  EXPECT_EQ(nlohmann::json::parse(second[1])["name"], "door.opened");
  EXPECT_EQ(nlohmann::json::parse(first[1])["id"], nlohmann::json::parse(second[1])["id"]);
}

TEST_F(CliTest, TriggerEnqueue_EventName_IsNameOptionOrTrigger) {
  config(outbox_config());
  ASSERT_EQ(run("trigger -c hooks.yaml --enqueue --hook first --data x").code, 0);
  ASSERT_EQ(run("trigger -c hooks.yaml --enqueue --hook first --name door.opened --data y").code, 0);
  const CliRun r = run("outbox -c hooks.yaml list --json");
  ASSERT_EQ(r.code, 0) << r.err;
  std::vector<std::string> names;
  for (const auto& line : lines_of(r.out)) names.push_back(nlohmann::json::parse(line)["event_name"]);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"door.opened", "trigger"}));
}

// Data that is not UTF-8 (a Latin-1 file) is stored with U+FFFD for the bad byte, as FileHook writes it
// when sending now; it ended with "unexpected error" (exit 4) before.
TEST_F(CliTest, TriggerEnqueue_DataNotUtf8_IsStoredWithAReplacementCharacter) {
  config(outbox_config());
  std::ofstream(dir_ / "latin1.txt") << "caf\xe9";
  const CliRun r = run("trigger -c hooks.yaml --enqueue --hook first --data @latin1.txt");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  ASSERT_EQ(run("trigger -c hooks.yaml --hook second --data @latin1.txt").code, 0);
  const CliRun list = run("outbox -c hooks.yaml list --json");
  ASSERT_EQ(list.code, 0) << list.err;
  ASSERT_EQ(lines_of(list.out).size(), 1u) << list.out;
  const auto sent = lines_of(read_file(dir_ / "second.jsonl"));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(sent[0])["data"], "caf\xef\xbf\xbd");
  const CliRun worker = run("worker -c hooks.yaml --once");
  ASSERT_EQ(worker.code, 0) << worker.err;
  const auto delivered = lines_of(read_file(dir_ / "first.jsonl"));
  ASSERT_EQ(delivered.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(delivered[0])["data"], "caf\xef\xbf\xbd");
}

TEST_F(CliTest, TriggerEnqueue_OutboxFolderMissing_IsCreated) {
  config(outbox_config());
  const CliRun r = run("trigger -c hooks.yaml --enqueue --json --data x");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_TRUE(std::filesystem::exists(dir_ / "state" / "deep" / "outbox.db"));
  EXPECT_EQ(lines_of(r.out).size(), 2u) << r.out;
}

TEST_F(CliTest, OutboxShow_PrintsTheEventData_NotTheStorageWrapper) {
  config(outbox_config());
  const CliRun object = run("trigger -c hooks.yaml --enqueue --json --hook first --data '{\"a\": 1}'");
  ASSERT_EQ(object.code, 0) << object.err;
  const CliRun text = run("trigger -c hooks.yaml --enqueue --json --hook second --data 'just text'");
  ASSERT_EQ(text.code, 0) << text.err;
  const CliRun list = run("outbox -c hooks.yaml list --json");
  std::map<std::string, std::string> id_of;
  for (const auto& line : lines_of(list.out)) {
    const auto job = nlohmann::json::parse(line);
    id_of[job["hook"]] = job["id"];
  }
  const CliRun shown = run("outbox -c hooks.yaml show --json " + id_of["first"]);
  ASSERT_EQ(shown.code, 0) << shown.err;
  EXPECT_EQ(nlohmann::json::parse(shown.out)["data"], nlohmann::json({{"a", 1}})) << shown.out;
  const CliRun shown_text = run("outbox -c hooks.yaml show --json " + id_of["second"]);
  EXPECT_EQ(nlohmann::json::parse(shown_text.out)["data"], "just text") << shown_text.out;
  const CliRun plain = run("outbox -c hooks.yaml show " + id_of["second"]);
  EXPECT_NE(plain.out.find("data:            just text\n"), std::string::npos) << plain.out;
}

TEST_F(CliTest, Trigger_FileHookPath_RelativeToTheConfigsFolder) {
  std::filesystem::create_directories(dir_ / "etc");
  config("hooks:\n  sink:\n    type: FileHook\n    path: out.jsonl\n", "etc/hooks.yaml");
  ASSERT_EQ(run("trigger -c etc/hooks.yaml --data x").code, 0);
  EXPECT_TRUE(std::filesystem::exists(dir_ / "etc" / "out.jsonl"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "out.jsonl"));
}

TEST_F(CliTest, Trigger_InvalidConfig_EveryProblemReportedWithFileAndLine) {
  config(
      "defautls: {}\n"
      "hooks:\n"
      "  alarm:\n    type: WebHook\n    urll: https://x.example/\n"
      "  sink:\n    type: FileHook\n    path: ${EVENTHOOKS_TEST_SURELY_UNSET}\n");
  const CliRun r = run("validate -c hooks.yaml");
  EXPECT_EQ(r.code, 3);
  for (const std::string part : {"hooks.yaml:1: unknown key 'defautls'",
                                 "hooks.yaml:5: hook 'alarm': unknown key 'urll'; did you mean 'url'?",
                                 "hooks.yaml:8: hook 'sink': key 'path'", "EVENTHOOKS_TEST_SURELY_UNSET"}) {
    EXPECT_NE(r.err.find(part), std::string::npos) << part << " not in: " << r.err;
  }
}

// --- logs ------------------------------------------------------------------------------------------------

TEST_F(CliTest, Logs_GoToStderrOnly_AsJsonWhenAsked) {
  two_file_hooks();
  const CliRun r = run("trigger -c hooks.yaml -v --log-format json --json");
  ASSERT_EQ(r.code, 0) << r.err;
  for (const auto& line : lines_of(r.out))
    EXPECT_TRUE(nlohmann::json::parse(line).contains("outcome")) << line;
  const auto log_lines = lines_of(r.err);
  ASSERT_FALSE(log_lines.empty());
  bool saw_debug = false;
  for (const auto& line : log_lines) {
    const auto entry = nlohmann::json::parse(line);
    EXPECT_TRUE(entry.contains("time") && entry.contains("level") && entry.contains("message")) << line;
    saw_debug = saw_debug || entry["level"] == "debug";
  }
  EXPECT_TRUE(saw_debug) << r.err;  // -v: the skip of outside_only is logged at debug
}

TEST_F(CliTest, GlobalOptions_BeforeTheSubcommand_AreAccepted) {
  two_file_hooks();
  const CliRun r = run("-v --log-format json trigger -c hooks.yaml");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("\"level\":\"debug\""), std::string::npos) << r.err;
}

TEST_F(CliTest, GlobalOptions_AfterTheSubcommand_AreAccepted) {
  two_file_hooks();
  const CliRun r = run("trigger -c hooks.yaml --log-format json -v");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("\"level\":\"debug\""), std::string::npos) << r.err;
}

TEST_F(CliTest, LogFormat_OtherThanTextOrJson_IsUsageError) {
  two_file_hooks();
  EXPECT_EQ(run("--log-format xml trigger -c hooks.yaml").code, 2);
}

// --- validate, list ------------------------------------------------------------------------------------

TEST_F(CliTest, Validate_ValidConfig_ExitsZero) {
  two_file_hooks();
  const CliRun r = run("validate -c hooks.yaml");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("ok, 2 hooks"), std::string::npos) << r.out;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "all.jsonl"));
}

TEST_F(CliTest, Validate_InvalidConfig_ExitsThreeNamingFileLineHookKey) {
  ::unsetenv("EVENTHOOKS_CLI_TEST_UNSET");
  config("hooks:\n  a:\n    type: WebHook\n    url: ${EVENTHOOKS_CLI_TEST_UNSET}\n");
  const CliRun r = run("validate -c hooks.yaml");
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.err.find("hooks.yaml:4: hook 'a': key 'url'"), std::string::npos) << r.err;
}

TEST_F(CliTest, Validate_JsonConfig_IsAccepted) {
  config(R"({"hooks": {"a": {"type": "FileHook", "path": "a.jsonl"}}})", "hooks.json");
  EXPECT_EQ(run("validate -c hooks.json").code, 0);
}

TEST_F(CliTest, List_ShowsEveryHookWithTypeRealmsAndState) {
  two_file_hooks();
  const CliRun r = run("list -c hooks.yaml");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(columns(lines[0])[0], "everywhere");
  EXPECT_EQ(columns(lines[0])[1], "FileHook");
  EXPECT_EQ(columns(lines[0])[2], "any");
  EXPECT_EQ(columns(lines[0])[3], "enabled");
  EXPECT_EQ(columns(lines[1])[2], "outside");
}

TEST_F(CliTest, List_SeveralRealms_StayOneColumn) {
  config("hooks:\n  a:\n    type: FileHook\n    path: a\n    realms: [ops, outside]\n    enabled: false\n");
  const CliRun r = run("list -c hooks.yaml");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto cols = columns(lines_of(r.out).at(0));
  EXPECT_EQ(cols.at(2), "ops,outside");
  EXPECT_EQ(cols.at(3), "disabled");
}

TEST_F(CliTest, List_WithRealm_ShowsOnlyHooksThatWouldFire) {
  config(
      "hooks:\n  a:\n    type: FileHook\n    path: a\n    realms: [x]\n  b:\n    type: FileHook\n    path: "
      "b\n    realms: [y]\n");
  const CliRun r = run("list -c hooks.yaml --realm y");
  ASSERT_EQ(r.code, 0);
  ASSERT_EQ(lines_of(r.out).size(), 1u) << r.out;
  EXPECT_EQ(columns(lines_of(r.out)[0])[0], "b");
}

// --- help, version, secrets ----------------------------------------------------------------------------

TEST_F(CliTest, Help_OnEveryCommand_ExitsZero) {
  for (const char* args : {"--help", "trigger --help", "validate --help", "list --help", "send --help"}) {
    const CliRun r = run(args);
    EXPECT_EQ(r.code, 0) << args;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << args << ": " << r.out;
  }
  EXPECT_NE(run("trigger --help").out.find("--dry-run"), std::string::npos);
  EXPECT_NE(run("validate --help").out.find("--config"), std::string::npos);
}

TEST_F(CliTest, Version_PrintsVersion) {
  const CliRun r = run("--version");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("eventhooks 0."), std::string::npos) << r.out;
}

TEST_F(CliTest, Secrets_NeverPrinted_InListDryRunTriggerOrLogs) {
  const std::string key = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  write_file(dir_ / "webhook.secret", key + "\n");
  config("hooks:\n  signed:\n    type: WebHook\n    url: http://127.0.0.1:" +
         std::to_string(test::closed_port()) +
         "/in?token=TOPSECRETTOKEN\n    secret_file: webhook.secret\n    timeout: 3\n");
  std::string everything;
  for (const char* args :
       {"list -c hooks.yaml", "trigger -c hooks.yaml --dry-run", "-vv trigger -c hooks.yaml",
        "trigger -c hooks.yaml --json -vv --log-format json"}) {
    const CliRun r = run(args);
    everything += r.out + r.err;
  }
  EXPECT_NE(everything.find("signed"), std::string::npos);
  EXPECT_EQ(everything.find("TOPSECRETTOKEN"), std::string::npos) << everything;
  EXPECT_EQ(everything.find("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), std::string::npos) << everything;
}

// --- network policy (docs/network.md) -------------------------------------------------------------------

TEST_F(CliTest, Trigger_AddressRefusedByTheNetworkPolicy_ShowsForbiddenAndExits1) {
  test::HttpTestServer server;
  config(
      "network:\n"
      "  deny_private: true\n"
      "hooks:\n"
      "  local:\n"
      "    type: WebHook\n"
      "    url: http://localhost:" +
      std::to_string(server.port()) +
      "/in\n"
      "    connect_timeout: 2\n");
  const CliRun r = run("trigger -c hooks.yaml --data '{\"x\": 1}'");
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  const auto cols = columns(lines_of(r.out).at(0));
  EXPECT_EQ(cols.at(0), "local");
  EXPECT_EQ(cols.at(1), "failed");
  EXPECT_EQ(cols.at(2), "forbidden:") << r.out;
  EXPECT_NE(r.out.find("denied by deny_private"), std::string::npos) << r.out;
  EXPECT_EQ(server.request_count(), 0u);

  const CliRun json = run("trigger -c hooks.yaml --json --data x");
  EXPECT_EQ(json.code, 1) << json.out << json.err;
  const auto line = nlohmann::json::parse(lines_of(json.out).at(0));
  EXPECT_EQ(line["error"]["code"], "forbidden");
  EXPECT_EQ(line["error"]["retryable"], false);
  const std::string message = line["error"]["message"];
  EXPECT_TRUE(message.find("connection to 127.0.0.1 (") != std::string::npos ||
              message.find("connection to ::1 (") != std::string::npos)
      << message;
}

TEST_F(CliTest, Trigger_AllowedByTheNetworkPolicy_Delivers) {
  test::HttpTestServer server;
  config(
      "network:\n"
      "  deny_private: true\n"
      "  allow: [127.0.0.1/32]\n"
      "hooks:\n"
      "  local:\n"
      "    type: WebHook\n"
      "    url: http://localhost:" +
      std::to_string(server.port()) + "/in\n");
  const CliRun r = run("trigger -c hooks.yaml --data x");
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(server.request_count(), 1u);
}

TEST_F(CliTest, Validate_BadCidr_Exit3AtItsLine) {
  config(
      "network:\n"
      "  deny: [10.0.0.0/33]\n"
      "hooks: {}\n");
  const CliRun r = run("validate -c hooks.yaml");
  EXPECT_EQ(r.code, 3) << r.out << r.err;
  EXPECT_NE(r.err.find("hooks.yaml:2: key 'network.deny': item 1: '10.0.0.0/33'"), std::string::npos)
      << r.err;
}

// --- send: service URLs, no config ------------------------------------------------------------------------

TEST_F(CliTest, Send_NtfyUrl_DeliversWithTitleAndPrintsLikeTrigger) {
  test::HttpTestServer server;
  test::fake_ntfy(server, "Basic cGhpbDpzM2NyZXRQYXNzd29yZA==");  // phil:s3cretPassword
  const CliRun r = run("send 'ntfy://phil:s3cretPassword@127.0.0.1:" + std::to_string(server.port()) +
                       "/ops?priority=4' --data 'disk full' --title Disk");
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  const auto cols = columns(lines_of(r.out).at(0));
  EXPECT_EQ(cols.at(0), "ntfy");
  EXPECT_EQ(cols.at(1), "delivered");
  const auto body = nlohmann::json::parse(server.requests().at(0).body);
  EXPECT_EQ(body["title"], "Disk");
  EXPECT_EQ(body["priority"], 4);
  EXPECT_EQ(body["message"], "disk full");
  EXPECT_EQ((r.out + r.err).find("s3cretPassword"), std::string::npos);
}

TEST_F(CliTest, Send_WithoutArguments_UsesEventhooksUrls) {
  test::HttpTestServer gotify;
  test::fake_gotify(gotify, "AppTokenSecret1");
  test::HttpTestServer receiver;
  const std::string urls = "gotify://127.0.0.1:" + std::to_string(gotify.port()) +
                           "/AppTokenSecret1 json://127.0.0.1:" + std::to_string(receiver.port()) + "/in";
  const test::ScopedEnv env("EVENTHOOKS_URLS", urls.c_str());
  const CliRun r = run("send --json --data '{\"used\": 97}'");
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  const auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_EQ(nlohmann::json::parse(lines[0])["hook"], "gotify");
  EXPECT_EQ(nlohmann::json::parse(lines[0])["outcome"], "delivered");
  EXPECT_EQ(nlohmann::json::parse(lines[1])["type"], "WebHook");
  EXPECT_EQ(receiver.requests().at(0).body, R"({"used":97})");
  EXPECT_EQ((r.out + r.err).find("AppTokenSecret1"), std::string::npos);
}

TEST_F(CliTest, Send_ServiceRefuses_ExitsOneWithItsErrorAndNoToken) {
  test::HttpTestServer server;
  test::fake_telegram(server, "111:theTokenTheServerKnows");
  const CliRun r = run("send 'tgram://222:telegramTokenSecret/42?base_url=" + server.url("") + "' --data hi");
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("Unauthorized"), std::string::npos) << r.out;
  EXPECT_EQ((r.out + r.err).find("telegramTokenSecret"), std::string::npos) << r.out << r.err;
}

TEST_F(CliTest, Send_BadUrl_ExitsThreeSendsNothingAndQuotesNoSecret) {
  test::HttpTestServer server;
  const CliRun r = run("send json://127.0.0.1:" + std::to_string(server.port()) +
                       "/in 'slack://T0/onlyTwoPartsSecret' --data x");
  EXPECT_EQ(r.code, 3) << r.out << r.err;
  EXPECT_NE(r.err.find("URL 2 (slack)"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("onlyTwoPartsSecret"), std::string::npos) << r.err;
  EXPECT_EQ(server.request_count(), 0u);
}

TEST_F(CliTest, Send_NoUrlAnywhere_ExitsTwo) {
  const test::ScopedEnv env("EVENTHOOKS_URLS", nullptr);
  EXPECT_EQ(run("send --data x").code, 2);
}

TEST_F(CliTest, Validate_BadTemplate_NamesFileLineAndKey) {
  config(
      "hooks:\n"
      "  phone:\n"
      "    type: NtfyHook\n"
      "    topic: ops\n"
      "    title: \"{{data.host\"\n");
  const CliRun r = run("validate -c hooks.yaml");
  EXPECT_EQ(r.code, 3) << r.out << r.err;
  EXPECT_NE(r.err.find("hooks.yaml:5"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("key 'title'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Mustache"), std::string::npos) << r.err;
}

TEST_F(CliTest, ConfigUrlKey_ListShowsTheTypedHookMasked) {
  config(
      "hooks:\n"
      "  phone:\n"
      "    url: ntfys://ntfy.example.com/ops?token=tk_listSecretToken\n"
      "    title: Disk\n"
      "    realms: [prod]\n"
      "  chat:\n"
      "    url: slack://T0/B0/slackListSecret99\n");
  const CliRun r = run("list -c hooks.yaml");
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("NtfyHook 'phone' -> https://ntfy.example.com/ops (token ***)"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("SlackWebHook 'chat' -> https://hooks.slack.com/services/T0/B0/***"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("Secret"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace eventhooks
