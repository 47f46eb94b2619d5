// Python data as streamed request bodies, and response bodies as Python iterators, for every binding that moves a
// body (archives, image load/import/build/save, exports; declared in common.hpp): Python objects are touched only
// with the GIL held, data moves in pieces, and socket and file I/O runs without the GIL. Binds _core.ByteStream and
// _core.ImageProgress.
#include <Python.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common.hpp"
#include "dind/archive.hpp"
#include "dind/images.hpp"
#include "dind/jsonlines.hpp"

namespace pyb = pybind11;
using namespace pybind11::literals;

namespace dind::py {

namespace {

// Where a request body comes from. Python objects are only touched with the GIL held (the source runs without
// it and takes it per piece for file objects and iterators).
class ByteStream;
BodyReader& raw_reader(ByteStream& s);
bool is_byte_stream(const pyb::object& o, ByteStream** out);

class PySource {
 public:
  PySource(pyb::object data, std::string what) : what_(std::move(what)) {
    ByteStream* bs = nullptr;
    if (is_byte_stream(data, &bs)) {
      // Another engine's response body (save → load between engines): read it directly, no Python in between.
      obj_ = data;
      stream_ = &raw_reader(*bs);
      kind_ = Kind::stream;
    } else if (pyb::isinstance<pyb::bytes>(data)) {
      obj_ = data;
      char* p = nullptr;
      Py_ssize_t n = 0;
      PyBytes_AsStringAndSize(obj_.ptr(), &p, &n);
      mem_ = p;
      mem_size_ = static_cast<std::size_t>(n);
      kind_ = Kind::memory;
    } else if (pyb::isinstance<pyb::str>(data)) {
      throw pyb::type_error(what_ + ": the data must be bytes, a binary file object or an iterable of bytes, not str");
    } else if (PyObject_CheckBuffer(data.ptr())) {
      // bytearray, memoryview: a contiguous view held (and released) with the GIL.
      view_ = std::make_unique<Py_buffer>();
      if (PyObject_GetBuffer(data.ptr(), view_.get(), PyBUF_CONTIG_RO) != 0) {
        view_.reset();
        throw pyb::error_already_set();
      }
      mem_ = static_cast<const char*>(view_->buf);
      mem_size_ = static_cast<std::size_t>(view_->len);
      kind_ = Kind::memory;
    } else if (pyb::hasattr(data, "read")) {
      obj_ = data;
      kind_ = Kind::reader;
      use_fd(data);
      if (kind_ == Kind::reader && pyb::hasattr(data, "readinto")) readinto_ = data.attr("readinto");
      if (kind_ == Kind::reader) read_ = data.attr("read");
    } else if (pyb::hasattr(data, "__iter__")) {
      obj_ = data.attr("__iter__")();
      kind_ = Kind::iterator;
    } else {
      throw pyb::type_error(what_ + ": the data must be bytes, a binary file object or an iterable of bytes, not " +
                            std::string(pyb::str(data.get_type().attr("__name__"))));
    }
  }
  PySource(const PySource&) = delete;
  PySource& operator=(const PySource&) = delete;
  ~PySource() {
    // Normally released by finish() with the GIL held; this is the fallback after an unexpected exit.
    if (obj_ || view_ || readinto_ || read_) {
      pyb::gil_scoped_acquire gil;
      release();
    }
  }

  // Called without the GIL from the HTTP layer.
  std::size_t read(char* buf, std::size_t cap) {
    switch (kind_) {
      case Kind::memory: {
        const std::size_t n = std::min(cap, mem_size_ - pos_);
        std::memcpy(buf, mem_ + pos_, n);
        pos_ += n;
        check_signals_sometimes();
        return n;
      }
      case Kind::fd: {
        const std::size_t n = fd_source_(buf, cap);
        pos_ += n;
        check_signals_sometimes();
        return n;
      }
      case Kind::reader: return with_gil([&] { return read_python_file(buf, cap); });
      case Kind::iterator: return with_gil([&] { return read_iterator(buf, cap); });
      case Kind::stream: {
        const std::size_t n = stream_->read_some(buf, cap);
        check_signals_sometimes();
        return n;
      }
    }
    return 0;
  }

  // With the GIL: leave a real file's position after what was sent (as reading it would have), drop references,
  // and re-raise a Python error (or Ctrl-C) that stopped the upload.
  void finish() {
    if (kind_ == Kind::fd && obj_) {
      try {
        obj_.attr("seek")(static_cast<long long>(fd_start_ + static_cast<std::int64_t>(pos_)));
      } catch (const pyb::error_already_set&) {
        PyErr_Clear();
      }
    }
    release();
    if (error_) {
      auto e = std::move(*error_);
      error_.reset();
      throw e;
    }
  }

  BodySource source() {
    return [this](char* buf, std::size_t cap) { return read(buf, cap); };
  }

 private:
  enum class Kind { memory, fd, reader, iterator, stream };

  // A real, seekable file: read its descriptor directly (pread from its current position), no GIL needed.
  void use_fd(const pyb::object& f) {
    try {
      if (!pyb::hasattr(f, "fileno") || !pyb::hasattr(f, "seekable") || !f.attr("seekable")().cast<bool>()) return;
      if (pyb::hasattr(f, "mode") && pyb::str(f.attr("mode")).cast<std::string>().find('b') == std::string::npos)
        return;  // a text file: read() will refuse it with a clear error
      const int fd = f.attr("fileno")().cast<int>();
      fd_start_ = f.attr("tell")().cast<long long>();
      fd_source_ = body_from_fd(fd, fd_start_);
      kind_ = Kind::fd;
    } catch (const pyb::error_already_set&) {
      PyErr_Clear();  // io.BytesIO and friends have no descriptor
    }
  }

  template <class F>
  std::size_t with_gil(F&& f) {
    pyb::gil_scoped_acquire gil;
    try {
      if (PyErr_CheckSignals() != 0) throw pyb::error_already_set();
      return f();
    } catch (pyb::error_already_set& e) {
      return fail(std::move(e));
    } catch (const pyb::cast_error& e) {
      throw Error(what_ + ": " + e.what());
    }
  }

  [[noreturn]] std::size_t fail(pyb::error_already_set&& e) {
    std::string text = e.what();
    error_.emplace(std::move(e));
    throw Error(what_ + ": reading the data failed: " + text);
  }

  void check_signals_sometimes() {
    if (++calls_ % 32 != 0) return;  // every ~2 MiB
    with_gil([] { return std::size_t{0}; });
  }

  std::size_t read_python_file(char* buf, std::size_t cap) {
    if (readinto_) {
      pyb::object view =
          pyb::reinterpret_steal<pyb::object>(PyMemoryView_FromMemory(buf, static_cast<Py_ssize_t>(cap), PyBUF_WRITE));
      if (!view) throw pyb::error_already_set();
      pyb::object got = readinto_(view);
      if (got.is_none()) return 0;  // a non-blocking stream with nothing: treat as the end
      return got.cast<std::size_t>();
    }
    pyb::object chunk = read_(cap);
    return copy_piece(chunk, buf, cap, /*may_keep=*/false);
  }

  std::size_t read_iterator(char* buf, std::size_t cap) {
    if (!pending_.empty()) return take_pending(buf, cap);
    for (;;) {
      PyObject* item = PyIter_Next(obj_.ptr());
      if (!item) {
        if (PyErr_Occurred()) throw pyb::error_already_set();
        return 0;
      }
      pyb::object chunk = pyb::reinterpret_steal<pyb::object>(item);
      if (std::size_t n = copy_piece(chunk, buf, cap, /*may_keep=*/true)) return n;
    }
  }

  // Copies a bytes-like piece; what does not fit is kept for the next call (iterators) or refused (read(cap)).
  std::size_t copy_piece(const pyb::object& chunk, char* buf, std::size_t cap, bool may_keep) {
    if (pyb::isinstance<pyb::str>(chunk))
      throw Error(what_ + ": the data yielded str; open files in binary mode ('rb') and yield bytes");
    Py_buffer v;
    if (PyObject_GetBuffer(chunk.ptr(), &v, PyBUF_CONTIG_RO) != 0) throw pyb::error_already_set();
    const std::size_t len = static_cast<std::size_t>(v.len);
    const std::size_t n = std::min(len, cap);
    std::memcpy(buf, v.buf, n);
    if (n < len) {
      if (!may_keep) {
        PyBuffer_Release(&v);
        throw Error(what_ + ": read(" + std::to_string(cap) + ") returned more bytes than asked for");
      }
      pending_.assign(static_cast<const char*>(v.buf) + n, len - n);
      pending_pos_ = 0;
    }
    PyBuffer_Release(&v);
    return n;
  }

  std::size_t take_pending(char* buf, std::size_t cap) {
    const std::size_t n = std::min(cap, pending_.size() - pending_pos_);
    std::memcpy(buf, pending_.data() + pending_pos_, n);
    pending_pos_ += n;
    if (pending_pos_ == pending_.size()) {
      pending_.clear();
      pending_pos_ = 0;
    }
    return n;
  }

  void release() noexcept {
    if (view_) {
      PyBuffer_Release(view_.get());
      view_.reset();
    }
    obj_ = pyb::object();
    readinto_ = pyb::object();
    read_ = pyb::object();
  }

  std::string what_;
  BodyReader* stream_ = nullptr;  // Kind::stream: owned by the ByteStream that obj_ keeps alive
  Kind kind_ = Kind::memory;
  pyb::object obj_, readinto_, read_;
  std::unique_ptr<Py_buffer> view_;
  const char* mem_ = nullptr;
  std::size_t mem_size_ = 0;
  std::size_t pos_ = 0;
  BodySource fd_source_;
  long long fd_start_ = 0;
  std::string pending_;
  std::size_t pending_pos_ = 0;
  unsigned calls_ = 0;
  std::optional<pyb::error_already_set> error_;
};

// A streamed response body as a Python iterator of bytes (and a minimal file: read(n)). One reader thread at a
// time; close() from any thread ends a blocked read.
class ByteStream {
 public:
  ByteStream(BodyReader r, std::size_t chunk) : r_(std::move(r)), chunk_(chunk ? chunk : std::size_t{2} << 20) {}
  ~ByteStream() { r_.close(); }

  pyb::bytes next() {
    pyb::bytes b = fill(chunk_);
    if (PyBytes_GET_SIZE(b.ptr()) == 0) throw pyb::stop_iteration();
    return b;
  }
  // Up to n bytes (n < 0: the rest); b"" at the end.
  pyb::bytes read(long long n) {
    if (n >= 0) return fill(static_cast<std::size_t>(n));
    std::string all;
    calls_.run([&] { all = r_.read_all(); }, [this] { r_.close(); }, Interruptible::Kind::per_chunk);
    return pyb::bytes(all.data(), all.size());
  }
  void close() noexcept { r_.close(); }
  const BodyReader& reader() const { return r_; }
  BodyReader& reader() { return r_; }

 private:
  // Reads straight into a new bytes object: no intermediate copy.
  pyb::bytes fill(std::size_t want) {
    PyObject* raw = PyBytes_FromStringAndSize(nullptr, static_cast<Py_ssize_t>(want));
    if (!raw) throw pyb::error_already_set();
    pyb::object owner = pyb::reinterpret_steal<pyb::object>(raw);  // freed on any exit, with the GIL
    char* p = PyBytes_AS_STRING(raw);
    std::size_t got = 0;
    calls_.run(
        [&] {
          while (got < want) {
            const std::size_t n = r_.read_some(p + got, want - got);
            if (n == 0) break;
            got += n;
          }
        },
        [this] { r_.close(); }, Interruptible::Kind::per_chunk);
    raw = owner.release().ptr();
    if (got != want && _PyBytes_Resize(&raw, static_cast<Py_ssize_t>(got)) != 0) throw pyb::error_already_set();
    return pyb::reinterpret_steal<pyb::bytes>(raw);
  }

  BodyReader r_;
  std::size_t chunk_;
  Interruptible calls_;
};

BodyReader& raw_reader(ByteStream& s) {
  return s.reader();
}
bool is_byte_stream(const pyb::object& o, ByteStream** out) {
  if (!pyb::isinstance<ByteStream>(o)) return false;
  *out = &o.cast<ByteStream&>();
  return true;
}

// A JSON-lines progress stream (pull, push, load, import, build): dicts, or each line as bytes.
class Progress {
 public:
  Progress(JsonStream s, bool decode) : s_(std::move(s)), decode_(decode) {}
  ~Progress() { s_.close(); }

  AnyValue next() {
    nlohmann::json j;
    bool got = false;
    calls_.run([&] { got = s_.next(j); }, [this] { s_.close(); }, Interruptible::Kind::per_chunk);
    if (!got) throw pyb::stop_iteration();
    if (decode_) return to_python_as<AnyValue>(j);
    std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    return pyb::reinterpret_steal<AnyValue>(pyb::bytes(line.data(), line.size()).release());
  }
  // Every remaining message, as dicts.
  JsonObjects read_all() {
    std::vector<nlohmann::json> all;
    calls_.run([&] { all = s_.read_all(); }, [this] { s_.close(); }, Interruptible::Kind::per_chunk);
    JsonObjects out;
    for (const auto& j : all) out.append(to_python(j));
    return out;
  }
  void close() noexcept { s_.close(); }
  void raise_on_error(bool on) noexcept { s_.raise_on_error(on); }
  const std::string& context() const { return s_.context(); }

 private:
  JsonStream s_;
  bool decode_;
  Interruptible calls_;
};

}  // namespace

// A Python error raised by the data (or Ctrl-C) re-raises as it was rather than as the transport's report of it.
void with_python_body(const pyb::object& data, const std::string& what, const std::function<void(BodySource)>& call) {
  PySource src(data, what);
  try {
    pyb::gil_scoped_release release;
    call(src.source());
  } catch (const Error&) {
    src.finish();
    throw;
  }
  src.finish();
}

ByteStreamObject wrap_byte_stream(BodyReader r, std::size_t chunk) {
  return pyb::reinterpret_steal<ByteStreamObject>(
      pyb::cast(std::make_unique<ByteStream>(std::move(r), chunk)).release());
}
ImageProgressObject wrap_progress(JsonStream s, bool decode) {
  return pyb::reinterpret_steal<ImageProgressObject>(
      pyb::cast(std::make_unique<Progress>(std::move(s), decode)).release());
}

}  // namespace dind::py

DIND_BINDINGS(bodies) {
  using dind::py::ByteStream;
  pyb::class_<ByteStream> byte_stream(m, "ByteStream",
                                      "A streamed response body (archives, exports, image tars): iterate for bytes "
                                      "chunks, or read(n). close() from any thread ends it.");
  dind::py::def_stream_protocol(byte_stream)
      .def("read", &ByteStream::read, "n"_a = -1, "Up to `n` bytes (all the rest if n < 0); b\"\" at the end.")
      .def("close", &ByteStream::close, "Ends the stream (any thread).")
      .def_property_readonly(
          "status", [](const ByteStream& s) { return s.reader().status(); }, "The response's HTTP status.")
      .def_property_readonly(
          "headers",
          [](const ByteStream& s) {
            pyb::typing::Dict<pyb::str, pyb::str> d;
            for (const auto& [k, v] : s.reader().headers()) d[pyb::str(k)] = pyb::str(v);
            return d;
          },
          "The response's headers.");

  using dind::py::Progress;
  pyb::class_<Progress> progress(m, "ImageProgress",
                                 "A JSON-lines progress stream (pull, push, load, import, build). An errorDetail line "
                                 "raises StreamError naming the operation, unless raise_on_error(False).");
  dind::py::def_stream_protocol(progress)
      .def("read_all", &Progress::read_all, "Every remaining message, as dicts.")
      .def("close", &Progress::close, "Ends the stream (any thread).")
      .def("raise_on_error", &Progress::raise_on_error, "on"_a,
           "Whether an errorDetail line raises StreamError (the default) or is passed on.")
      .def_property_readonly("context", &Progress::context, "What the stream is of, for messages.");
  m.def(
      "progress_error", [](const pyb::handle& line) { return dind::json_stream_error(dind::py::from_python(line)); },
      "line"_a, "The failure a progress line reports (errorDetail.message, else error), or \"\": the core's rule.");
}
