#pragma once
// Traefik's access log lines, byte for byte where parsers care (pkg/middlewares/accesslog):
//   common      CLIENT - USER [02/Jan/2006:15:04:05 -0700] "METHOD PATH PROTO" STATUS SIZE
//               "REFERER" "USER-AGENT" COUNT "ROUTER" "SERVICE-URL" DURATIONms
//   genericCLF  the same up to "USER-AGENT"
//   json        one object, keys sorted as Go's encoding/json writes a map: ClientAddr,
//               ClientHost, ..., StartUTC, TLSCipher, TLSVersion, downstream_*,
//               entryPointName, level, msg, request_*, time
// with the `filters` (a line is kept when any filter given matches) and the `fields`
// keep/drop (per field, lowercased names) and headers keep/drop/redact. Immutable after
// construction; used from every worker.
#include <bitset>
#include <string>
#include <string_view>

#include "config/static_config.hpp"
#include "proxy/log_buffer.hpp"
#include "proxy/request_record.hpp"

namespace portier::proxy {

class AccessLogFormat {
 public:
  explicit AccessLogFormat(const config::AccessLogConfig& cfg);

  // Whether the filters keep this request's line.
  bool keep(const RequestRecord& r) const;
  // Appends the line (with its '\n') for `r`; `count` is Traefik's RequestCount.
  void append(const RequestRecord& r, uint64_t count, LogBuffer& out) const;
  // The same into a string (tests, fuzzing).
  void append(const RequestRecord& r, uint64_t count, std::string& out) const;

  // Whether any header field can appear (then the observation captures request and response
  // header fields), and what happens to one (canonical name).
  bool captures_headers() const { return captures_headers_; }
  config::AccessLogConfig::HeaderMode header_mode(std::string_view canonical) const;
  bool keeps_query() const { return cfg_.keep_query; }

  // The core fields, in Traefik's JSON (sorted) order; entryPointName sorts after the
  // downstream_* headers and is handled apart.
  enum Field {
    ClientAddr, ClientHost, ClientPort, ClientUsername, DownstreamContentSize, DownstreamStatus,
    Duration, OriginContentSize, OriginDuration, OriginStatus, Overhead, RequestAddr,
    RequestContentSize, RequestCount, RequestHost, RequestMethod, RequestPath, RequestPort,
    RequestProtocol, RequestScheme, RetryAttempts, RouterName, ServiceAddr, ServiceName,
    ServiceURL, StartLocal, StartUTC, TLSCipher, TLSVersion, EntryPointName, kFieldCount
  };

 private:
  void append_common(const RequestRecord& r, uint64_t count, bool generic, LogBuffer& out) const;
  // Referer or User-Agent for a common line, as `mode` (header_mode) says.
  std::string_view common_header(const RequestRecord& r, std::string_view name,
                                 config::AccessLogConfig::HeaderMode mode) const;
  void append_json(const RequestRecord& r, uint64_t count, LogBuffer& out) const;
  bool kept(Field f) const { return keep_[f]; }

  config::AccessLogConfig cfg_;
  std::bitset<kFieldCount> keep_;
  bool all_kept_ = false;  // every core field kept: the JSON line's straight path
  config::AccessLogConfig::HeaderMode referer_mode_, user_agent_mode_;  // header_mode() of each
  bool captures_headers_ = false;
};

// Go's encoding/json string escaping (HTML-safe, invalid UTF-8 as U+FFFD), quotes included.
void append_json_string(std::string& out, std::string_view s);
// Time as Go's RFC3339Nano in UTC ("2024-05-01T10:00:00.123456789Z", zeros trimmed).
void append_rfc3339_utc(std::string& out, std::chrono::system_clock::time_point t, bool nanos);

}  // namespace portier::proxy
