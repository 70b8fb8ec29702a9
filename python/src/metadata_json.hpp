// Python metadata (a dict) to the JSON text of one object, in C++ rather than through json.dumps.
#pragma once

#include <Python.h>

#include <cstddef>
#include <string>

namespace evlog::python {

// Deepest nesting accepted: the dict itself is level 1, as the C++ validation counts it.
inline constexpr int kMaxMetadataDepth = 64;

// Appends the JSON text of `dict` (a dict or a subclass) to `out`, which it clears first. Keys
// must be str; values str, int (signed 64-bit), float (finite), bool, None, list, tuple or dict
// (subclasses too), nested at most kMaxMetadataDepth deep, with no U+0000 and no lone surrogate
// in any string. Stops as soon as the text passes `max_bytes`.
//
// Returns true, or false with `error` naming the path and the rule, e.g.
// "metadata.answers[2]: cannot serialize a value of type set". Called with the GIL held; runs
// no Python code (no __str__, __float__ or __iter__ of the user's), so the containers cannot
// change while they are read, and a dict that contains itself is reported, not followed.
bool metadata_to_json(PyObject* dict, std::size_t max_bytes, std::string& out, std::string& error);

}  // namespace evlog::python
