// The request side of an exchange: the head and a string or chunked body written by hand, then the response head
// read (response.cpp). Also the entry points exchange(), upgrade() and read_response().
#include <cstdio>
#include <vector>

#include "dind/errors.hpp"
#include "http/exchange.hpp"

namespace dind::http {

namespace {

constexpr std::size_t kInlineBody = 64 * 1024;  // bodies up to this go out in the same write as the head

std::string serialize_head(const Request& req) {
  std::string h;
  h.reserve(256 + req.target.size());
  h.append(req.method).append(" ").append(req.target).append(" HTTP/1.1\r\nHost: ").append(req.host);
  h.append("\r\nUser-Agent: dind/0.1\r\n");
  for (const auto& [k, v] : req.headers) {
    if (k.find_first_of("\r\n") != std::string::npos || v.find_first_of("\r\n") != std::string::npos)
      throw Error("header " + k + " for " + req.method + " " + req.target + " contains a line break");
    h.append(k).append(": ").append(v).append("\r\n");
  }
  if (req.upgrade) h.append("Connection: Upgrade\r\nUpgrade: ").append(req.upgrade_protocol).append("\r\n");
  if (req.source) {
    h.append("Transfer-Encoding: chunked\r\n");
  } else if (!req.body.empty() || req.method == "POST" || req.method == "PUT" || req.method == "PATCH") {
    h.append("Content-Length: ").append(std::to_string(req.body.size())).append("\r\n");
  }
  h.append("\r\n");
  return h;
}

void write_chunked(Connection& conn, const Request& req, Clock::time_point dl, const std::string& what) {
  std::string chunk;
  std::vector<char> data(64 * 1024);
  for (;;) {
    std::size_t n = req.source(data.data(), data.size());
    if (n > data.size()) throw Error(what + ": the body source returned more bytes than asked for");
    char size_line[24];
    int len = std::snprintf(size_line, sizeof size_line, "%zx\r\n", n);
    chunk.assign(size_line, static_cast<std::size_t>(len));
    if (n == 0) {
      chunk.append("\r\n");
      conn.write(chunk.data(), chunk.size(), dl, what);
      return;
    }
    chunk.append(data.data(), n).append("\r\n");
    conn.write(chunk.data(), chunk.size(), dl, what);
  }
}

std::unique_ptr<detail::Exchange> start(std::unique_ptr<Connection> conn, const Request& req,
                                        Clock::time_point head_deadline, std::string what, Recycle recycle,
                                        bool* answered) {
  auto x = std::make_unique<detail::Exchange>();
  x->conn = std::move(conn);
  x->recycle = std::move(recycle);
  x->what = std::move(what);
  if (answered) *answered = false;
  std::string head = serialize_head(req);
  try {
    if (!req.source && req.body.size() <= kInlineBody) {
      head += req.body;
      x->conn->write(head.data(), head.size(), head_deadline, x->what);
    } else {
      x->conn->write(head.data(), head.size(), head_deadline, x->what);
      if (req.source)
        write_chunked(*x->conn, req, head_deadline, x->what);
      else
        x->conn->write(req.body.data(), req.body.size(), head_deadline, x->what);
    }
  } catch (const ConnectionError&) {
    // The daemon may answer (404, 400) and close before reading an upload: show that answer, not EPIPE.
    x->conn->mark_unreusable();
    try {
      auto probe = std::make_unique<detail::Exchange>();
      probe->conn = std::move(x->conn);
      probe->what = x->what;
      probe->read_head(std::min(head_deadline, deadline_after(std::chrono::seconds(2))), req.method == "HEAD");
      if (answered) *answered = true;
      return probe;
    } catch (...) {
    }
    throw;
  } catch (...) {
    if (x->conn) x->conn->mark_unreusable();  // a body source that threw leaves a half-written request
    throw;
  }
  try {
    x->read_head(head_deadline, req.method == "HEAD");
  } catch (...) {
    if (answered) *answered = x->parser.got_some() || x->buf.size() > 0;
    throw;
  }
  if (answered) *answered = true;
  return x;
}

}  // namespace

BodyReader exchange(std::unique_ptr<Connection> conn, const Request& req, Clock::time_point head_deadline,
                    std::string what, Recycle recycle, bool* answered) {
  return BodyReader(start(std::move(conn), req, head_deadline, std::move(what), std::move(recycle), answered));
}

std::pair<std::optional<UpgradedStream>, std::optional<BodyReader>> upgrade(std::unique_ptr<Connection> conn,
                                                                            const Request& req,
                                                                            Clock::time_point head_deadline,
                                                                            std::string what) {
  Request r = req;
  r.upgrade = true;
  auto x = start(std::move(conn), r, head_deadline, std::move(what), nullptr, nullptr);
  if (x->status == 101 || x->status == 200) {
    x->conn->mark_unreusable();
    return {UpgradedStream(std::move(x)), std::nullopt};
  }
  return {std::nullopt, BodyReader(std::move(x))};
}

std::pair<std::optional<UpgradedStream>, std::optional<BodyReader>> read_response(ReadSource source, bool upgrade,
                                                                                  bool head_request, std::string what) {
  auto x = std::make_unique<detail::Exchange>();
  x->source = std::move(source);
  x->what = std::move(what);
  x->read_head(kNoDeadline, head_request);
  if (upgrade && (x->status == 101 || x->status == 200)) return {UpgradedStream(std::move(x)), std::nullopt};
  return {std::nullopt, BodyReader(std::move(x))};
}

}  // namespace dind::http
