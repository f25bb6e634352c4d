// kvctl shell: the line protocol (quoting, binary bytes, errors), in-process
// and through the real binary with piped stdin.
// Built only with kvctl (KV_BUILD_TOOLS): tools/CMakeLists.txt gives these tests
// kvctl_lib and its include path; tests/CMakeLists.txt skips them otherwise.
#include "kv/db.hpp"
#include "kvctl/shell.hpp"
#include "kvctl_test_util.hpp"
#include "test_util.hpp"

namespace kv::kvctl {
namespace {

using test::Run;
using namespace std::string_literals;

TEST_CASE("kvctl shell: SET/GET/DEL/SCAN over a pipe", "[kvctl]") {
  kv::test::TempDir tmp;
  const std::string db = (tmp.path() / "db").string();
  REQUIRE(Run({"put", db, "seed", "1"}).code == kExitOk);
  const std::string input =
      "SET a 1\n"
      "set \"key with spaces\" \"value\\twith\\ttabs\"\n"
      "SET \"bin\\x00\\xff\" \"\\x01\\n\\\"q\\\"\\\\\"\n"
      "\n"
      "# a comment\n"
      "GET a\n"
      "GET \"key with spaces\"\n"
      "GET \"bin\\x00\\xff\"\n"
      "GET missing\n"
      "SCAN\n"
      "SCAN b\n"
      "SCAN \"\" 2\n"
      "DEL a\n"
      "GET a\n"
      "SET onlykey\n"
      "BOGUS x\n"
      "GET \"unterminated\n"
      "SCAN a x\n"
      "QUIT\n"
      "GET seed\n";
  test::Result r = Run({"shell", db}, input);
  INFO(r.err);
  CHECK(r.code == kExitOk);
  const std::string expected =
      "OK\n"
      "OK\n"
      "OK\n"
      "VALUE 1\n"
      "VALUE \"value\\twith\\ttabs\"\n"
      "VALUE \"\\x01\\n\\\"q\\\"\\\\\"\n"
      "NOT_FOUND\n"
      "KEY a VALUE 1\n"
      "KEY \"bin\\x00\\xff\" VALUE \"\\x01\\n\\\"q\\\"\\\\\"\n"
      "KEY \"key with spaces\" VALUE \"value\\twith\\ttabs\"\n"
      "KEY seed VALUE 1\n"
      "END\n"
      "KEY \"bin\\x00\\xff\" VALUE \"\\x01\\n\\\"q\\\"\\\\\"\n"
      "END\n"
      "KEY a VALUE 1\n"
      "KEY \"bin\\x00\\xff\" VALUE \"\\x01\\n\\\"q\\\"\\\\\"\n"
      "END\n"
      "OK\n"
      "NOT_FOUND\n";
  CHECK(r.out.substr(0, expected.size()) == expected);
  // Then four errors, and nothing after QUIT.
  const std::string rest = r.out.substr(std::min(expected.size(), r.out.size()));
  std::vector<std::string> lines;
  for (std::size_t pos = 0; pos < rest.size();) {
    const std::size_t nl = rest.find('\n', pos);
    lines.push_back(rest.substr(pos, nl - pos));
    pos = nl + 1;
  }
  REQUIRE(lines.size() == 4);
  CHECK(lines[0].starts_with("ERR wrong number of arguments"));
  CHECK(lines[1].starts_with("ERR unknown command 'BOGUS'"));
  CHECK(lines[2].starts_with("ERR unterminated quoted token"));
  CHECK(lines[3].starts_with("ERR SCAN limit"));
  // No prompt: stdin is not a terminal.
  CHECK(r.out.find("kv>") == std::string::npos);

  // The bytes really are what the quoting said.
  auto opened = DB::Open({}, db);
  REQUIRE_OK(opened);
  CHECK(*(*opened)->Get("bin\x00\xff"s) == "\x01\n\"q\"\\"s);
  CHECK(*(*opened)->Get("key with spaces") == "value\twith\ttabs");
  CHECK(absl::IsNotFound((*opened)->Get("a").status()));
}

TEST_CASE("kvctl shell: prompt only on a terminal; missing DB is an error", "[kvctl]") {
  kv::test::TempDir tmp;
  const std::string db = (tmp.path() / "db").string();
  REQUIRE(Run({"put", db, "k", "v"}).code == kExitOk);
  test::Result r = Run({"shell", db}, "GET k\n", Terminal{.stdin_is_tty = true});
  CHECK(r.out == "kv> VALUE v\nkv> \n");
  r = Run({"shell", (tmp.path() / "nodb").string()}, "GET k\n");
  CHECK(r.code == kExitError);
  CHECK(r.out.empty());
}

TEST_CASE("ShellSession answers line by line; CRLF input is accepted", "[kvctl]") {
  kv::test::TempDir tmp;
  auto opened = DB::Open({}, tmp.path() / "db");
  REQUIRE_OK(opened);
  ShellSession s(**opened);
  std::vector<std::string> reply;
  CHECK(s.Handle("SET \"\" empty\r", &reply) == ShellSession::kContinue);
  CHECK(reply == std::vector<std::string>{"OK"});
  s.Handle("GET \"\"", &reply);
  CHECK(reply == std::vector<std::string>{"VALUE empty"});
  s.Handle("SET e \"\"", &reply);
  s.Handle("GET e", &reply);
  CHECK(reply == std::vector<std::string>{"VALUE \"\""});
  s.Handle("  ", &reply);
  CHECK(reply.empty());
  s.Handle("HELP", &reply);
  CHECK(reply.back() == "END");
  CHECK(s.Handle("exit", &reply) == ShellSession::kQuit);
}

TEST_CASE("kvctl binary: exit codes and a piped shell session", "[kvctl]") {
  kv::test::TempDir tmp;
  const std::string db = (tmp.path() / "db").string();
  CHECK(test::RunBinary({"get", db, "k"}, "", tmp.path()).code == kExitError);
  CHECK(test::RunBinary({"put", db, "k", "v"}, "", tmp.path()).code == kExitOk);
  test::Result r = test::RunBinary({"get", db, "k"}, "", tmp.path());
  CHECK(r.code == kExitOk);
  CHECK(r.out == "v\n");
  CHECK(test::RunBinary({"get", db, "nope"}, "", tmp.path()).code == kExitNotFound);
  CHECK(test::RunBinary({"get"}, "", tmp.path()).code == kExitUsage);
  r = test::RunBinary({"shell", db}, "SET \"a b\" \"\\x00\"\nSCAN\n", tmp.path());
  CHECK(r.code == kExitOk);
  CHECK(r.out == "OK\nKEY \"a b\" VALUE \"\\x00\"\nKEY k VALUE v\nEND\n");
  r = test::RunBinary({"verify", db}, "", tmp.path());
  CHECK(r.code == kExitOk);
}

}  // namespace
}  // namespace kv::kvctl
