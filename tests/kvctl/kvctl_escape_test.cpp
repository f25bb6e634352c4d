// kvctl's byte rendering, shell-protocol quoting and argument parsing.
// Built only with kvctl (KV_BUILD_TOOLS): tools/CMakeLists.txt gives these tests
// kvctl_lib and its include path; tests/CMakeLists.txt skips them otherwise.
#include <random>

#include "kvctl/args.hpp"
#include "kvctl/escape.hpp"
#include "test_util.hpp"

namespace kv::kvctl {
namespace {

using namespace std::string_literals;

TEST_CASE("DisplayBytes shows plain text as is and everything else as hex", "[kvctl]") {
  CHECK(DisplayBytes("hello world", false) == "hello world");
  CHECK(DisplayBytes("", false) == "");
  CHECK(DisplayBytes("", true) == "0x");
  CHECK(DisplayBytes("ab", true) == "0x6162");
  CHECK(DisplayBytes("a\tb", false) == "0x610962");
  CHECK(DisplayBytes("\x00\xff"s, false) == "0x00ff");
  CHECK(DisplayBytes("caf\xc3\xa9", false) == "0x636166c3a9");
  // Text starting with "0x" would be ambiguous: shown in hex.
  CHECK(DisplayBytes("0x41", false) == "0x30783431");
  CHECK(DisplayBytes("~ !", false) == "~ !");
  CHECK(DisplayBytes("\x7f", false) == "0x7f");
}

TEST_CASE("ParseHex decodes with or without a 0x prefix and rejects junk", "[kvctl]") {
  CHECK(*ParseHex("0x00ff") == "\x00\xff"s);
  CHECK(*ParseHex("00FF") == "\x00\xff"s);
  CHECK(*ParseHex("") == "");
  CHECK(*ParseHex("0x") == "");
  CHECK(absl::IsInvalidArgument(ParseHex("abc").status()));
  CHECK(absl::IsInvalidArgument(ParseHex("zz").status()));
  CHECK(absl::IsInvalidArgument(ParseHex("0x0g").status()));
}

TEST_CASE("ShellTokenize: bare and quoted tokens with escapes", "[kvctl]") {
  using V = std::vector<std::string>;
  CHECK(*ShellTokenize("") == V{});
  CHECK(*ShellTokenize("   \t ") == V{});
  CHECK(*ShellTokenize("SET a b") == V{"SET", "a", "b"});
  CHECK(*ShellTokenize("  SET\ta   b  ") == V{"SET", "a", "b"});
  CHECK(*ShellTokenize(R"(SET "a key" "")") == V{"SET", "a key", ""});
  CHECK(*ShellTokenize(R"("\" \\ \n \t \r \0 \x41\xfF")") == V{"\" \\ \n \t \r \0 A\xff"s});
  // Bare tokens are literal, quotes and backslashes included.
  CHECK(*ShellTokenize(R"(a\n b"c)") == V{R"(a\n)", R"(b"c)"});
  CHECK(absl::IsInvalidArgument(ShellTokenize(R"(GET "abc)").status()));
  CHECK(absl::IsInvalidArgument(ShellTokenize(R"(GET "abc\")").status()));
  CHECK(absl::IsInvalidArgument(ShellTokenize(R"(GET "\q")").status()));
  CHECK(absl::IsInvalidArgument(ShellTokenize(R"(GET "\x4")").status()));
  CHECK(absl::IsInvalidArgument(ShellTokenize(R"(GET "a"b)").status()));
}

TEST_CASE("ShellQuote: bare when safe, quoted otherwise", "[kvctl]") {
  CHECK(ShellQuote("abc") == "abc");
  CHECK(ShellQuote("a\"b") == "a\"b");
  CHECK(ShellQuote("\"ab") == R"("\"ab")");
  CHECK(ShellQuote("") == R"("")");
  CHECK(ShellQuote("a b") == R"("a b")");
  CHECK(ShellQuote("a\\b c") == R"("a\\b c")");
  CHECK(ShellQuote("\n\t\r") == R"("\n\t\r")");
  CHECK(ShellQuote("\x00\x7f\xff"s) == R"("\x00\x7f\xff")");
}

TEST_CASE("ShellQuote then ShellTokenize round-trips random byte strings", "[kvctl]") {
  std::mt19937_64 rng(kv::test::TestSeed());
  const std::string alphabet = "ab \t\n\r\"\\#x0\x00\x7f\x80\xff"s;
  for (int i = 0; i < 2000; ++i) {
    std::string s;
    const int len = static_cast<int>(rng() % 12);
    for (int j = 0; j < len; ++j) {
      s.push_back(rng() % 4 == 0 ? static_cast<char>(rng() % 256)
                                 : alphabet[rng() % alphabet.size()]);
    }
    const std::string line = "SET " + ShellQuote(s) + " " + ShellQuote(s + "v");
    absl::StatusOr<std::vector<std::string>> t = ShellTokenize(line);
    INFO(line);
    REQUIRE_OK(t);
    REQUIRE(t->size() == 3);
    CHECK((*t)[1] == s);
    CHECK((*t)[2] == s + "v");
    CHECK(line.find('\n') == std::string::npos);
  }
}

TEST_CASE("ParseArgs: positionals, switches, values, --, errors", "[kvctl]") {
  constexpr FlagSpec kSpecs[] = {{"limit", true}, {"hex", false}};
  auto parse = [&](std::vector<std::string> a) { return ParseArgs(a, kSpecs); };
  absl::StatusOr<ParsedArgs> p = parse({"db", "--limit", "5", "k", "--hex"});
  REQUIRE_OK(p);
  CHECK(p->positional == std::vector<std::string>{"db", "k"});
  CHECK(p->Value("limit") == "5");
  CHECK(p->Has("hex"));
  CHECK(!p->help);
  p = parse({"--limit=7", "--", "--hex", "-"});
  REQUIRE_OK(p);
  CHECK(p->Value("limit") == "7");
  CHECK(!p->Has("hex"));
  CHECK(p->positional == std::vector<std::string>{"--hex", "-"});
  p = parse({"x", "-h"});
  REQUIRE_OK(p);
  CHECK(p->help);
  CHECK(absl::IsInvalidArgument(parse({"--nope"}).status()));
  CHECK(absl::IsInvalidArgument(parse({"-x"}).status()));
  CHECK(absl::IsInvalidArgument(parse({"--limit"}).status()));
  CHECK(absl::IsInvalidArgument(parse({"--hex=1"}).status()));
  CHECK(absl::IsInvalidArgument(parse({"--hex", "--hex"}).status()));
  CHECK(*ParseCount("limit", "12") == 12);
  CHECK(absl::IsInvalidArgument(ParseCount("limit", "-1").status()));
  CHECK(absl::IsInvalidArgument(ParseCount("limit", "x").status()));
  CHECK(absl::IsInvalidArgument(ParseCount("limit", "").status()));
}

}  // namespace
}  // namespace kv::kvctl
