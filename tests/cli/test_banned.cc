// test_banned.cc - the banned-function check (curl's checksrc idea): no C source or header in
// the product or test programs calls sprintf, vsprintf, strcpy, strncpy, strcat, strncat,
// gets, strtok, atoi or atol. Matches whole identifiers followed by '(' outside comments,
// string and character literals, so snprintf( or a comment naming strcpy( is fine.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

const char *const kBanned[] = {"sprintf", "vsprintf", "strcpy", "strncpy", "strcat",
                               "strncat", "gets",     "strtok", "atoi",    "atol"};

// Directories scanned, relative to the source tree.
const char *const kDirs[] = {"mcap",       "pipeline",          "cli",
                             "tests/fuzz", "tests/conformance", "tests/bench"};

bool IsIdentChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// Replace comments and the insides of string/char literals by spaces, keeping newlines,
// so line numbers stay right and only code is left to match.
std::string CodeOnly(const std::string &src) {
  enum { kCode, kLineComment, kBlockComment, kString, kChar } state = kCode;
  std::string out = src;
  for (size_t i = 0; i < src.size(); i++) {
    const char c = src[i];
    const char next = i + 1 < src.size() ? src[i + 1] : '\0';
    switch (state) {
      case kCode:
        if (c == '/' && next == '/') {
          state = kLineComment;
          out[i] = ' ';
        } else if (c == '/' && next == '*') {
          state = kBlockComment;
          out[i] = out[i + 1] = ' ';
          i++;
        } else if (c == '"') {
          state = kString;
        } else if (c == '\'') {
          state = kChar;
        }
        break;
      case kLineComment:
        if (c == '\n') {
          state = kCode;
        } else {
          out[i] = ' ';
        }
        break;
      case kBlockComment:
        if (c == '*' && next == '/') {
          state = kCode;
          out[i] = out[i + 1] = ' ';
          i++;
        } else if (c != '\n') {
          out[i] = ' ';
        }
        break;
      case kString:
      case kChar:
        if (c == '\\' && i + 1 < src.size()) {
          out[i] = ' ';
          if (next != '\n') out[i + 1] = ' ';
          i++;
        } else if ((state == kString && c == '"') || (state == kChar && c == '\'')) {
          state = kCode;
        } else if (c == '\n') {
          state = kCode;  // unterminated literal: resynchronise at the line end
        } else {
          out[i] = ' ';
        }
        break;
    }
  }
  return out;
}

// "line N: name(" for every banned call in `src`.
std::vector<std::string> FindBanned(const std::string &src) {
  std::vector<std::string> hits;
  const std::string code = CodeOnly(src);
  size_t line = 1;
  for (size_t i = 0; i < code.size(); i++) {
    if (code[i] == '\n') {
      line++;
      continue;
    }
    if (!IsIdentChar(code[i]) || (i > 0 && IsIdentChar(code[i - 1]))) continue;
    size_t end = i;
    while (end < code.size() && IsIdentChar(code[end])) end++;
    const std::string word = code.substr(i, end - i);
    size_t after = end;
    while (after < code.size() && (code[after] == ' ' || code[after] == '\t')) after++;
    if (after < code.size() && code[after] == '(' &&
        std::find(std::begin(kBanned), std::end(kBanned), word) != std::end(kBanned)) {
      hits.push_back("line " + std::to_string(line) + ": " + word + "(");
    }
    i = end - 1;
  }
  return hits;
}

TEST(Banned, MatcherFindsCallsAndIgnoresLookalikes) {
  EXPECT_EQ(FindBanned("int n = atoi(s);\n").size(), 1u);
  EXPECT_EQ(FindBanned("x;\n  strcpy (a, b);\n"), std::vector<std::string>{"line 2: strcpy("});
  EXPECT_TRUE(FindBanned("snprintf(b, n, \"%d\", 1); my_atoi(s); mcap__strcat(a);\n").empty());
  EXPECT_TRUE(FindBanned("// strcpy(a, b)\n/* sprintf(\n gets( */\n").empty());
  EXPECT_TRUE(FindBanned("puts(\"never call strtok(\"); c = '\\'';\n").empty());
  EXPECT_TRUE(FindBanned("int atoi_count;\nstruct { int gets; } s;\n").empty());
  EXPECT_EQ(FindBanned("/* a */ atol(p); \"x\" vsprintf(b, f, ap);\n").size(), 2u);
}

TEST(Banned, NoBannedFunctionsInSources) {
  const fs::path root = MCAPKIT_SOURCE_DIR;
  std::vector<std::string> problems;
  size_t scanned = 0;
  for (const char *dir : kDirs) {
    const fs::path base = root / dir;
    if (!fs::is_directory(base)) continue;  // a layer that does not exist yet
    std::vector<fs::path> files;
    for (const auto &entry : fs::recursive_directory_iterator(base)) {
      const fs::path &p = entry.path();
      if (entry.is_regular_file() && (p.extension() == ".c" || p.extension() == ".h")) {
        files.push_back(p);
      }
    }
    std::sort(files.begin(), files.end());
    for (const fs::path &p : files) {
      std::ifstream in(p, std::ios::binary);
      ASSERT_TRUE(in) << "cannot read " << p;
      std::stringstream text;
      text << in.rdbuf();
      scanned++;
      for (const std::string &hit : FindBanned(text.str())) {
        const std::string rel = fs::relative(p, root).string();
        problems.push_back(rel + ":" + hit.substr(5));  // "line N: x(" -> "file:N: x("
      }
    }
  }
  EXPECT_GT(scanned, 0u) << "no .c/.h files found under " << root;
  std::string report;
  for (const std::string &p : problems) report += "  " + p + "\n";
  EXPECT_TRUE(problems.empty())
      << "banned functions (use snprintf, memcpy, strtoull with checks):\n"
      << report;
}

}  // namespace
