#include "proxy/prometheus_text.hpp"

#include <charconv>
#include <cmath>

namespace portier::proxy {

namespace {
void append_value(std::string& out, double v) {
  if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
    return;
  }
  if (std::isnan(v)) {
    out += "NaN";
    return;
  }
  char buf[64];
  char* end;
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    end = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, 0).ptr;  // %.0f
  } else {
    // The shortest text that reads back as v, as "%.Pg" with the least such P: the digits
    // of the shortest round-trip form give P (one formatting instead of a P loop).
    end = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific).ptr;
    int digits = 0;
    for (char* p = buf; p < end && *p != 'e'; ++p) digits += *p >= '0' && *p <= '9';
    end = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general, digits).ptr;
  }
  out.append(buf, end);
}
}  // namespace

std::string render_labels(const Labels& labels) {
  std::string out;
  for (const auto& [name, value] : labels) {
    if (!out.empty()) out += ',';
    out.append(name).append("=\"");
    for (char c : value) {
      if (c == '\\') out += "\\\\";
      else if (c == '"') out += "\\\"";
      else if (c == '\n') out += "\\n";
      else out += c;
    }
    out += '"';
  }
  return out;
}

void PrometheusText::family(std::string_view name, std::string_view type, std::string_view help) {
  out_.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out_.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void PrometheusText::sample(std::string_view name, const Labels& labels, double value) {
  sample_raw(name, render_labels(labels), value);
}

void PrometheusText::sample_raw(std::string_view name, std::string_view labels, double value) {
  out_.append(name);
  if (!labels.empty()) out_.append("{").append(labels).append("}");
  out_ += ' ';
  append_value(out_, value);
  out_ += '\n';
}

}  // namespace portier::proxy
