#include "yaml_json.hpp"

#include <yaml.h>

#include <memory>

namespace dind::detail {
namespace {

constexpr int kMaxDepth = 64;  // a kubeconfig nests four levels; deeper is hostile input, not a config

struct Parser {
  yaml_parser_t p;
  Parser() { yaml_parser_initialize(&p); }
  ~Parser() { yaml_parser_delete(&p); }
};
struct Document {
  yaml_document_t d;
  bool loaded = false;
  ~Document() {
    if (loaded) yaml_document_delete(&d);
  }
};

std::string scalar_text(const yaml_node_t* n) {
  return std::string(reinterpret_cast<const char*>(n->data.scalar.value), n->data.scalar.length);
}

nlohmann::json convert(yaml_document_t* doc, const yaml_node_t* n, int depth) {
  if (!n) return nullptr;
  if (depth > kMaxDepth)
    throw YamlSyntaxError{"nested deeper than " + std::to_string(kMaxDepth) + " levels", n->start_mark.line + 1,
                          n->start_mark.column + 1};
  switch (n->type) {
    case YAML_SCALAR_NODE: {
      std::string s = scalar_text(n);
      if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
          (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL"))
        return nullptr;
      return s;
    }
    case YAML_SEQUENCE_NODE: {
      nlohmann::json a = nlohmann::json::array();
      for (yaml_node_item_t* i = n->data.sequence.items.start; i < n->data.sequence.items.top; ++i)
        a.push_back(convert(doc, yaml_document_get_node(doc, *i), depth + 1));
      return a;
    }
    case YAML_MAPPING_NODE: {
      nlohmann::json o = nlohmann::json::object();
      for (yaml_node_pair_t* p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; ++p) {
        const yaml_node_t* k = yaml_document_get_node(doc, p->key);
        if (!k || k->type != YAML_SCALAR_NODE)
          throw YamlSyntaxError{"a mapping key that is not a string", n->start_mark.line + 1, n->start_mark.column + 1};
        o[scalar_text(k)] = convert(doc, yaml_document_get_node(doc, p->value), depth + 1);
      }
      return o;
    }
    case YAML_NO_NODE: break;
  }
  return nullptr;
}

}  // namespace

nlohmann::json yaml_to_json(std::string_view text) {
  Parser parser;
  yaml_parser_set_input_string(&parser.p, reinterpret_cast<const unsigned char*>(text.data()), text.size());
  Document doc;
  if (!yaml_parser_load(&parser.p, &doc.d)) {
    const auto& m = parser.p.problem_mark;
    std::string problem = parser.p.problem ? parser.p.problem : "unreadable YAML";
    if (parser.p.context) problem = std::string(parser.p.context) + ": " + problem;
    throw YamlSyntaxError{problem, m.line + 1, m.column + 1};
  }
  doc.loaded = true;
  return convert(&doc.d, yaml_document_get_root_node(&doc.d), 0);  // no root: an empty file, null
}

bool yaml_bool(const std::string& s, bool& out) {
  for (const char* t : {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"})
    if (s == t) return out = true, true;
  for (const char* f : {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"})
    if (s == f) return out = false, true;
  return false;
}

}  // namespace dind::detail
