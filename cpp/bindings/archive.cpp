// _core.Archive(client): put/get/stat/export of container files. Bodies move through the helpers of bodies.cpp.
#include "dind/archive.hpp"

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>

#include "common.hpp"

namespace pyb = pybind11;
using namespace pybind11::literals;

namespace {

using dind::py::to_python;
using dind::py::without_gil;

dind::py::JsonObject stat_dict(const dind::PathStat& s) {
  return dind::py::to_python_as<dind::py::JsonObject>(s.to_json());
}

}  // namespace

DIND_BINDINGS(archive) {
  pyb::class_<dind::Archive>(m, "Archive", "Container files: PUT/GET/HEAD /containers/{id}/archive and export.")
      .def(pyb::init<dind::Client>(), "client"_a, "The archive endpoints of `client`.")
      .def(
          "put",
          [](dind::Archive& a, const std::string& id, const std::string& path, const pyb::object& data,
             bool no_overwrite_dir_non_dir, bool copy_uid_gid) {
            bool ok = false;
            dind::py::with_python_body(data, "put_archive into " + path + " of container " + id,
                                       [&](dind::BodySource src) {
                                         ok = a.put(id, path, std::move(src), no_overwrite_dir_non_dir, copy_uid_gid);
                                       });
            return ok;
          },
          "id"_a, "path"_a, "data"_a, "no_overwrite_dir_non_dir"_a = false, "copy_uid_gid"_a = false,
          "Extracts a tar (bytes, a binary file object or an iterable of bytes, streamed) into `path`.")
      .def(
          "put_file",
          [](dind::Archive& a, const std::string& id, const std::string& path, const std::string& tar_file) {
            pyb::gil_scoped_release release;
            return a.put(id, path, dind::body_from_file(tar_file));
          },
          "id"_a, "path"_a, "tar_file"_a, "Extracts the tar file at `tar_file` (read by the core) into `path`.")
      .def(
          "get",
          [](dind::Archive& a, const std::string& id, const std::string& path, std::size_t chunk_size) {
            dind::ArchiveDownload d = without_gil([&] { return a.get(id, path); });
            dind::py::JsonObject stat = stat_dict(d.stat);
            return dind::py::named<pyb::typing::Tuple<dind::py::ByteStreamObject, dind::py::JsonObject>>(
                pyb::make_tuple(dind::py::wrap_byte_stream(std::move(d.body), chunk_size), stat));
          },
          "id"_a, "path"_a, "chunk_size"_a = std::size_t{2} << 20, "(ByteStream of the tar, stat dict).")
      .def(
          "stat",
          [](dind::Archive& a, const std::string& id, const std::string& path) {
            return stat_dict(without_gil([&] { return a.stat(id, path); }));
          },
          "id"_a, "path"_a,
          "HEAD /containers/{id}/archive: the stat dict of `path` (name, size, mode, mtime, linkTarget).")
      .def(
          "export",
          [](dind::Archive& a, const std::string& id, std::size_t chunk_size) {
            return dind::py::wrap_byte_stream(without_gil([&] { return a.export_container(id); }), chunk_size);
          },
          "id"_a, "chunk_size"_a = std::size_t{2} << 20,
          "GET /containers/{id}/export: the file system's tar as a ByteStream.");
}
