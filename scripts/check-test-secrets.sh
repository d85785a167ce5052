#!/usr/bin/env bash
# Greps the output of the last ctest run for the secrets the tests hand to hooks (tokens, passwords, keys,
# webhook URLs' secret parts): none may appear in anything a test printed (outcomes, errors, logs, CLI
# output). Run after `ctest --preset release`. Usage: scripts/check-test-secrets.sh [BUILD_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
log=${1:-$root/build/release}/Testing/Temporary/LastTest.log
[ -s "$log" ] || { echo "check-test-secrets: no $log (run ctest first)" >&2; exit 2; }
# The secret values of tests/integration/notify_hooks_test.cpp, tests/integration/cli_test.cpp (send, url:),
# tests/unit/notify_hooks_unit_test.cpp and tests/unit/service_url_test.cpp, plus the older suites' own.
secrets=(
  slackSecretXyZ123456789 discordSecretTokenAbc987654321 teamsSigSecret0123456789abcdef
  telegramSecretAAbbCCddEEff tk_ntfysecrettoken0123456789ab AgotifySecret.Tok3n
  pdRoutingKeySecret00000000000001 mypassword123 s3cretPassword AppTokenSecret1 telegramTokenSecret
  onlyTwoPartsSecret tk_listSecretToken slackListSecret99 slackSecretXyz123 discordTokenSecret ABCsecretTok
  pw123secret tk_secretabc AppTokSecret AppTok2Secret mmTokenSecret keySecret123 pwSecret99 mailPwSecret
  pw2Secret amqpPwSecret amqpPw2Secret slackSecretXyZ1234 discordSecretTok123 teamsSig1234
  telegramSecretToken tk_ntfySecretToken99 ntfyPassword99 AgotifySecretTok tokSecret
  TOPSECRETTOKEN MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
  ehk_serve_test_7Qm2vX9pL4 ehk_wrong_key_Zr81Kd0 ehk_cfg_first_Kz1 ehk_cfg_other_Kz2
  cfgPwSecret wrongPwSecret42
)
# The test brokers' passwords (scripts/servers/rabbitmq*.sh), when their env is loaded: the outbox's URLs carry them.
for v in EVENTHOOKS_AMQP_PASSWORD EVENTHOOKS_CLUSTER_PASSWORD; do
  [ -n "${!v:-}" ] && secrets+=("${!v}")
done
found=0
for s in "${secrets[@]}"; do
  if grep -qF -- "$s" "$log"; then
    echo "check-test-secrets: '$s' printed by a test:" >&2
    grep -nF -- "$s" "$log" | head -n 3 >&2
    found=1
  fi
done
[ $found = 0 ] && echo "check-test-secrets: none of ${#secrets[@]} test secrets in $(wc -l <"$log") lines of test output"
exit $found
