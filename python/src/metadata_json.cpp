#include "metadata_json.hpp"

#include <charconv>
#include <cmath>
#include <string_view>

namespace evlog::python {

namespace {

// Where the serializer is: for each open container, the key or index being written.
struct Frame {
  PyObject* container;  // borrowed: the dict or sequence
  PyObject* key;        // borrowed; null in a list or tuple
  Py_ssize_t index;
};

class Serializer {
 public:
  Serializer(std::size_t max_bytes, std::string& out, std::string& error)
      : max_bytes_(max_bytes), out_(out), error_(error) {}

  bool object(PyObject* dict, int depth) {
    if (!enter(dict, depth)) return false;
    out_.push_back('{');
    Py_ssize_t pos = 0;
    PyObject* key = nullptr;
    PyObject* value = nullptr;
    bool first = true;
    // PyDict_Next runs no Python code: the dict cannot change while it is read.
    while (PyDict_Next(dict, &pos, &key, &value)) {
      stack_[top_ - 1].key = nullptr;  // an error about the key names the dict
      if (!PyUnicode_Check(key)) {
        return fail(std::string("keys must be str, got a key of type ") + Py_TYPE(key)->tp_name);
      }
      if (!first) out_.push_back(',');
      first = false;
      stack_[top_ - 1].key = key;
      if (!string(key) || !fits()) return false;
      out_.push_back(':');
      if (!value_of(value, depth)) return false;
    }
    out_.push_back('}');
    --top_;
    return true;
  }

 private:
  bool sequence(PyObject* seq, PyObject* const* items, Py_ssize_t size, int depth) {
    if (!enter(seq, depth)) return false;
    out_.push_back('[');
    for (Py_ssize_t i = 0; i < size; ++i) {
      if (i > 0) out_.push_back(',');
      stack_[top_ - 1].index = i;
      if (!value_of(items[i], depth)) return false;
    }
    out_.push_back(']');
    --top_;
    return true;
  }

  // A value inside the container at `depth`.
  bool value_of(PyObject* v, int depth) {
    if (PyUnicode_Check(v)) return string(v) && fits();
    if (v == Py_None) return literal("null");
    if (v == Py_True) return literal("true");
    if (v == Py_False) return literal("false");
    if (PyLong_Check(v)) return integer(v);
    if (PyFloat_Check(v)) return real(PyFloat_AS_DOUBLE(v));
    if (PyDict_Check(v)) return object(v, depth + 1);
    if (PyList_Check(v)) {
      return sequence(v, PySequence_Fast_ITEMS(v), PyList_GET_SIZE(v), depth + 1);
    }
    if (PyTuple_Check(v)) {
      return sequence(v, PySequence_Fast_ITEMS(v), PyTuple_GET_SIZE(v), depth + 1);
    }
    return fail(std::string("cannot serialize a value of type ") + Py_TYPE(v)->tp_name);
  }

  bool enter(PyObject* container, int depth) {
    if (depth > kMaxMetadataDepth) {
      return fail("nesting must be at most " + std::to_string(kMaxMetadataDepth) + " levels deep");
    }
    for (int i = 0; i < top_; ++i) {
      if (stack_[i].container == container) {
        return fail("refers to a container that holds it (a cycle)");
      }
    }
    stack_[top_++] = Frame{container, nullptr, 0};
    return true;
  }

  bool string(PyObject* s) {
    Py_ssize_t size = 0;
    const char* text = PyUnicode_AsUTF8AndSize(s, &size);
    if (text == nullptr) {
      PyErr_Clear();  // UnicodeEncodeError: a lone surrogate has no UTF-8
      return fail("strings must be valid UTF-8, got a str holding a lone surrogate");
    }
    out_.push_back('"');
    std::size_t run = 0;  // start of the bytes not yet copied
    const auto n = static_cast<std::size_t>(size);
    for (std::size_t i = 0; i < n; ++i) {
      const auto c = static_cast<unsigned char>(text[i]);
      if (c >= 0x20 && c != '"' && c != '\\') [[likely]] {
        continue;
      }
      out_.append(text + run, i - run);
      run = i + 1;
      if (c == 0) return fail("strings must not contain U+0000 (\\u0000)");
      escape(c);
    }
    out_.append(text + run, n - run);
    out_.push_back('"');
    return true;
  }

  void escape(unsigned char c) {
    switch (c) {
      case '"':
        out_.append("\\\"");
        return;
      case '\\':
        out_.append("\\\\");
        return;
      case '\n':
        out_.append("\\n");
        return;
      case '\r':
        out_.append("\\r");
        return;
      case '\t':
        out_.append("\\t");
        return;
      case '\b':
        out_.append("\\b");
        return;
      case '\f':
        out_.append("\\f");
        return;
      default: {
        constexpr std::string_view kHex = "0123456789abcdef";
        const char code[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
        out_.append(code, sizeof code);
      }
    }
  }

  bool integer(PyObject* v) {
    int overflow = 0;
    const long long value = PyLong_AsLongLongAndOverflow(v, &overflow);
    if (overflow != 0) return fail("int must fit in 64 bits (signed)");
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
    out_.append(digits, end);
    return fits();
  }

  bool real(double value) {
    if (!std::isfinite(value)) {
      return fail(std::string("float must be finite, got ") +
                  (std::isnan(value) ? "nan" : (value > 0 ? "inf" : "-inf")));
    }
    // The shortest text that reads back as the same double, as Python's repr() gives it; a
    // float that prints as a whole number keeps its ".0", as json.dumps writes it.
    char digits[32];
    const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
    const std::string_view text(digits, static_cast<std::size_t>(end - digits));
    out_.append(text);
    if (text.find_first_of(".e") == std::string_view::npos) out_.append(".0");
    return fits();
  }

  bool literal(std::string_view text) {
    out_.append(text);
    return fits();
  }

  bool fits() {
    if (out_.size() <= max_bytes_) [[likely]] {
      return true;
    }
    error_ = "metadata: must be at most " + std::to_string(max_bytes_) +
             " bytes (Options::max_metadata_bytes) as JSON text, got more";
    return false;
  }

  bool fail(const std::string& rule) {
    error_ = path() + ": " + rule;
    return false;
  }

  // "metadata.answers[2]": a key that reads as a name after a dot, any other key quoted.
  std::string path() const {
    std::string p = "metadata";
    for (int i = 0; i < top_; ++i) {
      const Frame& f = stack_[i];
      if (i == top_ - 1 && f.key == nullptr && !PyList_Check(f.container) &&
          !PyTuple_Check(f.container)) {
        break;  // a dict whose keys are not reached yet (its own cycle or depth)
      }
      if (f.key == nullptr) {
        // Appended piece by piece: GCC 12 at -O3 misreports "[" + ... + "]" as an overlapping
        // memcpy (-Wrestrict, a false positive of its std::string inlining).
        p.append("[").append(std::to_string(f.index)).append("]");
        continue;
      }
      Py_ssize_t size = 0;
      const char* text = PyUnicode_AsUTF8AndSize(f.key, &size);
      if (text == nullptr) {
        PyErr_Clear();
        p += "[<key that is not valid UTF-8>]";
        continue;
      }
      std::string_view key(text, static_cast<std::size_t>(size));
      const bool plain = !key.empty() && key.size() <= 64 &&
                         key.find_first_not_of(
                             "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                             "0123456789_") == std::string_view::npos;
      if (plain) {
        p.append(".").append(key);
      } else {
        constexpr std::size_t kShown = 64;
        p.append("[\"");
        for (char c : key.substr(0, kShown)) {
          p.push_back(static_cast<unsigned char>(c) < 0x20 ? '?' : c);  // no control bytes
        }
        p.append(key.size() > kShown ? "…\"]" : "\"]");
      }
    }
    return p;
  }

  const std::size_t max_bytes_;
  std::string& out_;
  std::string& error_;
  Frame stack_[kMaxMetadataDepth + 1];
  int top_ = 0;
};

}  // namespace

bool metadata_to_json(PyObject* dict, std::size_t max_bytes, std::string& out, std::string& error) {
  out.clear();
  try {
    Serializer serializer(max_bytes, out, error);
    return serializer.object(dict, 1);
  } catch (const std::bad_alloc&) {
    error = "metadata: could not be serialized: out of memory";
    return false;
  }
}

}  // namespace evlog::python
