// .dockerignore semantics of docker's Go client (moby/patternmatcher and its ignorefile reader), so a context sent by
// dind holds exactly what `docker build` would send.
#include "dind/dockerignore.hpp"

#include <regex>

#include "dind/errors.hpp"

namespace dind {

namespace {

// Go's path.Clean: lexical, "" → ".", collapses "//", drops ".", resolves ".." where it can.
std::string clean(std::string_view p) {
  if (p.empty()) return ".";
  const bool rooted = p.front() == '/';
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (start <= p.size()) {
    std::size_t end = p.find('/', start);
    if (end == std::string_view::npos) end = p.size();
    const std::string_view part = p.substr(start, end - start);
    if (part.empty() || part == ".") {
    } else if (part == "..") {
      if (!parts.empty() && parts.back() != "..") {
        parts.pop_back();
      } else if (!rooted) {
        parts.push_back(part);
      }
    } else {
      parts.push_back(part);
    }
    start = end + 1;
  }
  std::string out = rooted ? "/" : "";
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i) out += '/';
    out.append(parts[i]);
  }
  return out.empty() ? "." : out;
}

std::string_view trim(std::string_view s) {
  const auto is_space = [](char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
  };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}
bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

struct DockerIgnore::Pattern {
  // Go picks a cheap comparison when the pattern allows it; the results equal the regex's except for the quirks
  // kept on purpose (e.g. "**foo" is a plain suffix test).
  enum Type { exact, prefix, suffix, regex } type = exact;
  std::string text;  // the cleaned pattern without "!"
  bool exception = false;
  std::regex re;

  bool match(std::string_view path) const {
    switch (type) {
      case exact: return path == text;
      case prefix: return starts_with(path, std::string_view(text).substr(0, text.size() - 2));
      case suffix: {
        const std::string_view tail = std::string_view(text).substr(2);
        if (ends_with(path, tail)) return true;
        return !tail.empty() && tail.front() == '/' && path == tail.substr(1);  // "**/foo" matches "foo"
      }
      case regex: return std::regex_match(path.begin(), path.end(), re);
    }
    return false;
  }
};

namespace {

using PatternType = DockerIgnore::Pattern::Type;

// "**" starting at s[i]: appends its regex and settles the pattern's type; returns the index of its last character
// (a "/" right after it belongs to it).
std::size_t compile_double_star(const std::string& s, std::size_t i, std::string& re, PatternType& type) {
  const std::size_t first = i;
  ++i;
  if (i + 1 < s.size() && s[i + 1] == '/') ++i;  // "**/" is "**"
  if (i + 1 == s.size()) {
    // "**" at the end accepts everything below
    if (type == DockerIgnore::Pattern::exact) {
      type = DockerIgnore::Pattern::prefix;
    } else {
      re += ".*";
      type = DockerIgnore::Pattern::regex;
    }
  } else {
    re += "(.*/)?";
    type = DockerIgnore::Pattern::regex;
  }
  if (first == 0) type = DockerIgnore::Pattern::suffix;
  return i;
}

// "\" at s[i]: appends the escaped character; returns the index of the last character used.
std::size_t compile_escape(const std::string& s, std::size_t i, std::string& re, PatternType& type) {
  if (i + 1 >= s.size()) {
    re += "\\\\";
    return i;
  }
  const char n = s[++i];
  // A letter after "\" is itself (ECMAScript would read "\d" as a class); anything else is quoted.
  if (std::isalnum(static_cast<unsigned char>(n)) == 0) re += '\\';
  re += n;
  type = DockerIgnore::Pattern::regex;
  return i;
}

void compile(DockerIgnore::Pattern& p) {
  const std::string& s = p.text;
  std::string re = "^";
  auto type = DockerIgnore::Pattern::exact;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '*' && i + 1 < s.size() && s[i + 1] == '*') {
      i = compile_double_star(s, i, re, type);
    } else if (c == '*') {
      re += "[^/]*";
      type = DockerIgnore::Pattern::regex;
    } else if (c == '?') {
      re += "[^/]";
      type = DockerIgnore::Pattern::regex;
    } else if (std::string_view(".+()|{}$").find(c) != std::string_view::npos) {
      re += '\\';
      re += c;
    } else if (c == '\\') {
      i = compile_escape(s, i, re, type);
    } else if (c == '[' || c == ']') {
      re += c;
      type = DockerIgnore::Pattern::regex;
    } else {
      re += c;
    }
  }
  p.type = type;
  if (type != DockerIgnore::Pattern::regex) return;
  re += '$';
  try {
    p.re = std::regex(re, std::regex::ECMAScript | std::regex::optimize);
  } catch (const std::regex_error& e) {
    throw Error("bad .dockerignore pattern \"" + s + "\": " + e.what());
  }
}

}  // namespace

DockerIgnore::DockerIgnore(const std::vector<std::string>& patterns) {
  for (const auto& raw : patterns) {
    std::string_view t = trim(raw);
    if (t.empty()) continue;
    std::string p = clean(t);
    Pattern pat;
    if (p.front() == '!') {
      if (p.size() == 1) throw Error("bad .dockerignore pattern \"!\": an exception needs a pattern");
      pat.exception = true;
      has_exceptions_ = true;
      p.erase(0, 1);
    }
    pat.text = std::move(p);
    compile(pat);
    patterns_.push_back(std::move(pat));
  }
}

DockerIgnore::~DockerIgnore() = default;
DockerIgnore::DockerIgnore(DockerIgnore&&) noexcept = default;
DockerIgnore& DockerIgnore::operator=(DockerIgnore&&) noexcept = default;

std::vector<std::string> DockerIgnore::parse(std::string_view text) {
  std::vector<std::string> out;
  bool first = true;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (first && starts_with(line, "\xEF\xBB\xBF")) line.remove_prefix(3);  // UTF-8 BOM
    first = false;
    if (starts_with(line, "#")) continue;  // a comment only when '#' is the very first character
    line = trim(line);
    if (line.empty()) continue;
    const bool invert = line.front() == '!';
    if (invert) line = trim(line.substr(1));
    std::string p(line);
    if (!p.empty()) {
      p = clean(p);
      if (p.size() > 1 && p.front() == '/') p.erase(0, 1);  // "/foo" means foo at the context root
    }
    out.push_back(invert ? "!" + p : p);
  }
  return out;
}

bool DockerIgnore::excluded(std::string_view path_in) const {
  const std::string path = clean(path_in);
  if (path == ".") return false;  // never exclude the whole context
  const std::size_t slash = path.rfind('/');
  bool matched = false;
  for (const auto& p : patterns_) {
    // An exclusion only matters once matched, an inclusion only while not.
    if (p.exception != matched) continue;
    bool m = p.match(path);
    // Or a parent directory matches: "a/b/c" is checked as "a" and "a/b" too.
    for (std::size_t end = 0; !m && slash != std::string::npos && end < slash;) {
      end = path.find('/', end + 1);
      if (end == std::string::npos || end > slash) break;
      m = p.match(std::string_view(path).substr(0, end));
    }
    if (m) matched = !p.exception;
  }
  return matched;
}

bool DockerIgnore::may_include_below(std::string_view dir) const {
  if (!has_exceptions_) return false;
  const std::string prefix = clean(dir) + "/";
  for (const auto& p : patterns_) {
    if (p.exception && starts_with(p.text + "/", prefix)) return true;
  }
  return false;
}

}  // namespace dind
