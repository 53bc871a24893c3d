#pragma once
// The subset of Go's text/template that Traefik's `defaultRule` uses:
//   {{ .Name }}  {{ .ContainerName }}  {{ index .Labels "key" }}  {{ normalize .Name }}
//   pipelines ({{ .Name | normalize }}), parentheses, string literals ("…" and `…`),
//   functions normalize, index, lower, upper, trimPrefix, trimSuffix, replace (sprig order:
//   replace OLD NEW SRC), and the {{- -}} trim markers.
// Pure functions, any thread.
#include <map>
#include <string>
#include <string_view>

namespace portier::discovery {

struct RuleTemplateData {
  std::string name;            // .Name: the container's default service name (normalized)
  std::string container_name;  // .ContainerName
  const std::map<std::string, std::string>* labels = nullptr;  // .Labels
};

// Renders `tpl` into `out`. Returns "" on success, else what is wrong.
std::string render_rule_template(std::string_view tpl, const RuleTemplateData& data, std::string& out);

// Traefik's provider.Normalize: runs of characters that are neither letters nor digits
// become one '-', leading and trailing ones are dropped ("my_app.v2" -> "my-app-v2").
std::string normalize_name(std::string_view name);

}  // namespace portier::discovery
