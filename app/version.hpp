#pragma once
namespace portier::app {
inline constexpr const char* kVersion = "0.1.0";
}  // namespace portier::app
