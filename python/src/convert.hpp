// Conversions between Python values and the C++ API's values: data to Payload, dicts to JSON, outcomes and
// metrics back to Python. Call with the GIL held.
#pragma once

#include <pybind11/pybind11.h>

#include <nlohmann/json.hpp>

#include "eventhooks/dispatcher.hpp"
#include "eventhooks/payload.hpp"

namespace eventhooks::python {

namespace py = pybind11;

// A str, None, or anything json.dumps takes (dict, list, tuple, int, float, bool) as a JSON value. Dict keys
// that are int, float, bool or None become strings, as json.dumps makes them. Raises TypeError for other
// types and ValueError for NaN and infinities (which are not JSON).
nlohmann::ordered_json to_ordered_json(py::handle value);
nlohmann::json to_json(py::handle value);

// None = no data, str = text, anything else = JSON.
Payload to_payload(py::handle data);

py::dict metrics_to_dict(const DispatcherMetrics& m);

}  // namespace eventhooks::python
