#pragma once
// Durable file replacement: write a temp file beside the target, fsync, rename, fsync the
// directory. Readers see either the old or the new content, never a torn file.
#include <optional>
#include <string>
#include <sys/types.h>

namespace portier::core {

// Returns an empty string on success, otherwise what failed (with the path).
std::string write_file_atomic(const std::string& path, std::string_view data, mode_t mode = 0644);

// Whole-file read; nullopt when the file cannot be read (error text in *error when given).
std::optional<std::string> read_file(const std::string& path, std::string* error = nullptr);

}  // namespace portier::core
