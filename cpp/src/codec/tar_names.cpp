#include "codec/tar_names.hpp"

namespace dind::detail {

std::string archive_name(std::string name) {
  std::size_t i = 0;
  while (true) {
    if (name.compare(i, 1, "/") == 0) {
      ++i;
    } else if (name.compare(i, 2, "./") == 0) {
      i += 2;
    } else {
      break;
    }
  }
  name.erase(0, i);
  return name;
}

std::string comparable_name(std::string_view name) {
  std::string s = archive_name(std::string(name));
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

std::optional<std::string> safe_relative(std::string_view name) {
  if (name.empty() || name.front() == '/') return std::nullopt;
  std::string out;
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t end = name.find('/', start);
    if (end == std::string_view::npos) end = name.size();
    const std::string_view part = name.substr(start, end - start);
    if (part == "..") return std::nullopt;
    if (!part.empty() && part != ".") {
      if (!out.empty()) out += '/';
      out.append(part);
    }
    start = end + 1;
  }
  return out;
}

}  // namespace dind::detail
