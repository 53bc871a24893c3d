#pragma once
// The dashboard's files, compiled into the binary: one page, its script and its style sheet.
// The page loads nothing else (no framework, no font, no external URL) and polls the JSON API
// (/api/overview, /api/entrypoints, /api/rawdata, /api/portier) every 2 s.
#include <optional>
#include <string_view>

namespace portier::app {

struct DashboardFile {
  std::string_view content_type;
  std::string_view body;
};

// `name` below /dashboard: "/" (the page), "/dashboard.js", "/dashboard.css"; nullopt otherwise.
std::optional<DashboardFile> dashboard_file(std::string_view name);

}  // namespace portier::app
