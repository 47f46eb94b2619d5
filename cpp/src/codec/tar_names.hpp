// Private to the codec layer: how entry names are written, compared and checked before extraction.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace dind::detail {

// Archive names are relative and '/'-separated; a leading "/" or "./" is dropped.
std::string archive_name(std::string name);
// For comparing entry names: archive_name(), also without a trailing "/".
std::string comparable_name(std::string_view name);
// The entry name as a safe relative path, or nullopt if it is absolute or has a ".." component.
std::optional<std::string> safe_relative(std::string_view name);

}  // namespace dind::detail
