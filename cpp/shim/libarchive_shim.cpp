// libdind_archive.so has no code of its own: its one dependency (DT_NEEDED) is libarchive.so.13. The core dlopens it
// on the first tar call and looks libarchive's functions up through its handle (cpp/src/codec/libarchive.cpp), so
// libarchive stays out of `import dind`, while a wheel's repair (auditwheel) sees the dependency, vendors libarchive
// and what it needs into dind.libs/ and sets this object's RPATH to them (CMakeLists.txt, scripts/wheel.sh).
