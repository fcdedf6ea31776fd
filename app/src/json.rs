//! JSON as the browser reads it: the server's answers (a refusal, a fingerprint) parsed by the browser's own
//! `JSON.parse` into a [`Json`] value.
//!
//! Not serde_json, on purpose: its deserializer and the float formatting its error messages pull in were a
//! sixth of the WASM bundle, and the browser already has a JSON parser. The server writes with serde as
//! usual; the readers of the few shapes the browser needs (`ApiError::from_json`) are tested against
//! serde's own output.

/// A parsed JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<Json>),
    /// Members in the order the text has them.
    Object(Vec<(String, Json)>),
}

impl Json {
    /// The member `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(members) => members.iter().find(|(name, _)| name == key).map(|(_, value)| value),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(text) => Some(text),
            _ => None,
        }
    }

    /// A whole number that fits `u64` (JSON numbers are doubles in the browser).
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Json::Number(n) if n >= 0.0 && n.fract() == 0.0 && n <= u64::MAX as f64 => Some(n as u64),
            _ => None,
        }
    }

    /// `text` parsed by the browser's `JSON.parse`; `None` if it is not JSON.
    #[cfg(feature = "hydrate")]
    pub fn parse(text: &str) -> Option<Json> {
        js_sys::JSON::parse(text).ok().map(|value| Json::from_js(&value))
    }

    #[cfg(feature = "hydrate")]
    fn from_js(value: &wasm_bindgen::JsValue) -> Json {
        use wasm_bindgen::JsCast;
        if let Some(text) = value.as_string() {
            Json::String(text)
        } else if let Some(number) = value.as_f64() {
            Json::Number(number)
        } else if let Some(flag) = value.as_bool() {
            Json::Bool(flag)
        } else if js_sys::Array::is_array(value) {
            Json::Array(js_sys::Array::from(value).iter().map(|item| Json::from_js(&item)).collect())
        } else if let Some(object) = value.dyn_ref::<js_sys::Object>() {
            let entries = js_sys::Object::entries(object);
            let members = entries.iter().map(|entry| {
                let pair = js_sys::Array::from(&entry);
                (pair.get(0).as_string().unwrap_or_default(), Json::from_js(&pair.get(1)))
            });
            Json::Object(members.collect())
        } else {
            Json::Null
        }
    }

    /// `value` as a [`Json`], for tests that compare the readers with what serde writes.
    #[cfg(test)]
    pub fn from_serde(value: &serde_json::Value) -> Json {
        use serde_json::Value;
        match value {
            Value::Null => Json::Null,
            Value::Bool(flag) => Json::Bool(*flag),
            Value::Number(number) => Json::Number(number.as_f64().expect("finite")),
            Value::String(text) => Json::String(text.clone()),
            Value::Array(items) => Json::Array(items.iter().map(Json::from_serde).collect()),
            Value::Object(members) => {
                Json::Object(members.iter().map(|(name, value)| (name.clone(), Json::from_serde(value))).collect())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_and_numbers_are_read_as_the_server_wrote_them() {
        let value = Json::from_serde(&serde_json::json!({"a": 3, "b": "x", "c": -1, "d": 2.5}));
        assert_eq!(value.get("a").and_then(Json::as_u64), Some(3));
        assert_eq!(value.get("b").and_then(Json::as_str), Some("x"));
        assert_eq!(value.get("c").and_then(Json::as_u64), None, "negative");
        assert_eq!(value.get("d").and_then(Json::as_u64), None, "not whole");
        assert_eq!(value.get("e"), None);
        assert_eq!(Json::String("x".into()).get("a"), None, "not an object");
    }
}
