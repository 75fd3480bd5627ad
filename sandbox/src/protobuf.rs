//! Reading the Kubernetes protobuf encoding for the objects clients send that way. client-go
//! (and so helm) writes Secrets and ConfigMaps as `application/vnd.kubernetes.protobuf` and has
//! no JSON fallback, so the sandbox decodes those two kinds; answers are JSON, which client-go
//! also accepts.

use crate::error::ApiError;
use base64::Engine;
use serde_json::{Map, Value, json};

/// The envelope's magic prefix.
const MAGIC: &[u8] = b"k8s\0";

/// Decodes a protobuf-encoded Secret or ConfigMap into its JSON form.
pub fn decode(body: &[u8]) -> Result<Value, ApiError> {
    let unknown = body
        .strip_prefix(MAGIC)
        .ok_or_else(|| bad("missing the k8s protobuf envelope"))?;
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), Vec::new());
    for (field, value) in fields(unknown)? {
        match (field, value) {
            (1, Wire::Bytes(type_meta)) => {
                for (f, v) in fields(type_meta)? {
                    match (f, v) {
                        (1, Wire::Bytes(b)) => api_version = text(b)?,
                        (2, Wire::Bytes(b)) => kind = text(b)?,
                        _ => {}
                    }
                }
            }
            (2, Wire::Bytes(bytes)) => raw = bytes.to_vec(),
            _ => {}
        }
    }
    let mut object = Map::new();
    object.insert("apiVersion".into(), json!(api_version));
    object.insert("kind".into(), json!(kind));
    match kind.as_str() {
        "Secret" => {
            for (field, value) in fields(&raw)? {
                match (field, value) {
                    (1, Wire::Bytes(b)) => {
                        object.insert("metadata".into(), object_meta(b)?);
                    }
                    (2, Wire::Bytes(b)) => {
                        let (key, bytes) = map_entry(b)?;
                        let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
                        entry(&mut object, "data").insert(key, json!(encoded));
                    }
                    (3, Wire::Bytes(b)) => {
                        object.insert("type".into(), json!(text(b)?));
                    }
                    (4, Wire::Bytes(b)) => {
                        let (key, value) = map_entry(b)?;
                        entry(&mut object, "stringData").insert(key, json!(text(&value)?));
                    }
                    (5, Wire::Varint(v)) => {
                        object.insert("immutable".into(), json!(v != 0));
                    }
                    _ => {}
                }
            }
        }
        "ConfigMap" => {
            for (field, value) in fields(&raw)? {
                match (field, value) {
                    (1, Wire::Bytes(b)) => {
                        object.insert("metadata".into(), object_meta(b)?);
                    }
                    (2, Wire::Bytes(b)) => {
                        let (key, value) = map_entry(b)?;
                        entry(&mut object, "data").insert(key, json!(text(&value)?));
                    }
                    (3, Wire::Bytes(b)) => {
                        let (key, bytes) = map_entry(b)?;
                        let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
                        entry(&mut object, "binaryData").insert(key, json!(encoded));
                    }
                    (4, Wire::Varint(v)) => {
                        object.insert("immutable".into(), json!(v != 0));
                    }
                    _ => {}
                }
            }
        }
        other => {
            return Err(ApiError {
                code: 415,
                reason: "UnsupportedMediaType",
                message: format!(
                    "the sandbox reads protobuf only for Secrets and ConfigMaps, not {other}; send JSON"
                ),
                details: None,
            });
        }
    }
    Ok(Value::Object(object))
}

fn entry<'a>(object: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let slot = object.entry(key.to_owned()).or_insert_with(|| json!({}));
    if !slot.is_object() {
        *slot = json!({});
    }
    slot.as_object_mut().expect("just made an object")
}

/// The ObjectMeta fields a client sets on create and update.
fn object_meta(bytes: &[u8]) -> Result<Value, ApiError> {
    let mut meta = Map::new();
    for (field, value) in fields(bytes)? {
        match (field, value) {
            (1, Wire::Bytes(b)) => {
                meta.insert("name".into(), json!(text(b)?));
            }
            (2, Wire::Bytes(b)) => {
                meta.insert("generateName".into(), json!(text(b)?));
            }
            (3, Wire::Bytes(b)) => {
                meta.insert("namespace".into(), json!(text(b)?));
            }
            (5, Wire::Bytes(b)) => {
                meta.insert("uid".into(), json!(text(b)?));
            }
            (6, Wire::Bytes(b)) => {
                meta.insert("resourceVersion".into(), json!(text(b)?));
            }
            (11, Wire::Bytes(b)) => {
                let (key, value) = map_entry(b)?;
                entry(&mut meta, "labels").insert(key, json!(text(&value)?));
            }
            (12, Wire::Bytes(b)) => {
                let (key, value) = map_entry(b)?;
                entry(&mut meta, "annotations").insert(key, json!(text(&value)?));
            }
            (14, Wire::Bytes(b)) => {
                let finalizers = meta.entry("finalizers").or_insert_with(|| json!([]));
                if let Some(list) = finalizers.as_array_mut() {
                    list.push(json!(text(b)?));
                }
            }
            _ => {}
        }
    }
    Ok(Value::Object(meta))
}

/// A map entry: field 1 the key, field 2 the value.
fn map_entry(bytes: &[u8]) -> Result<(String, Vec<u8>), ApiError> {
    let (mut key, mut value) = (String::new(), Vec::new());
    for (field, wire) in fields(bytes)? {
        match (field, wire) {
            (1, Wire::Bytes(b)) => key = text(b)?,
            (2, Wire::Bytes(b)) => value = b.to_vec(),
            _ => {}
        }
    }
    Ok((key, value))
}

/// A field's value by wire type.
enum Wire<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

/// Every (field number, value) of a message.
fn fields(mut bytes: &[u8]) -> Result<Vec<(u64, Wire<'_>)>, ApiError> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let (tag, rest) = varint(bytes)?;
        bytes = rest;
        let (field, wire_type) = (tag >> 3, tag & 7);
        match wire_type {
            0 => {
                let (v, rest) = varint(bytes)?;
                bytes = rest;
                out.push((field, Wire::Varint(v)));
            }
            1 => {
                bytes = bytes.get(8..).ok_or_else(|| bad("truncated fixed64"))?;
                out.push((field, Wire::Fixed));
            }
            2 => {
                let (len, rest) = varint(bytes)?;
                let len = usize::try_from(len).map_err(|_| bad("length too large"))?;
                let value = rest.get(..len).ok_or_else(|| bad("truncated field"))?;
                bytes = &rest[len..];
                out.push((field, Wire::Bytes(value)));
            }
            5 => {
                bytes = bytes.get(4..).ok_or_else(|| bad("truncated fixed32"))?;
                out.push((field, Wire::Fixed));
            }
            other => return Err(bad(&format!("unsupported wire type {other}"))),
        }
    }
    Ok(out)
}

fn varint(bytes: &[u8]) -> Result<(u64, &[u8]), ApiError> {
    let mut value = 0_u64;
    for (i, byte) in bytes.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok((value, &bytes[i + 1..]));
        }
    }
    Err(bad("malformed varint"))
}

fn text(bytes: &[u8]) -> Result<String, ApiError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| bad("a string field is not UTF-8"))
}

fn bad(what: &str) -> ApiError {
    ApiError::bad_request(format!("invalid protobuf body: {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(number: u64, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![((number << 3) | 2) as u8, payload.len() as u8];
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn decodes_a_secret() {
        let entry = [field(1, b"release"), field(2, b"H4sI")].concat();
        let label = [field(1, b"owner"), field(2, b"helm")].concat();
        let meta = [
            field(1, b"sh.helm.release.v1.demo.v1"),
            field(3, b"default"),
            field(11, &label),
        ]
        .concat();
        let secret = [
            field(1, &meta),
            field(2, &entry),
            field(3, b"helm.sh/release.v1"),
        ]
        .concat();
        let type_meta = [field(1, b"v1"), field(2, b"Secret")].concat();
        let body = [MAGIC.to_vec(), field(1, &type_meta), field(2, &secret)].concat();
        let object = decode(&body).unwrap();
        assert_eq!(object["kind"], "Secret");
        assert_eq!(object["metadata"]["name"], "sh.helm.release.v1.demo.v1");
        assert_eq!(object["metadata"]["labels"]["owner"], "helm");
        assert_eq!(
            object["data"]["release"],
            base64::engine::general_purpose::STANDARD.encode(b"H4sI")
        );
        assert_eq!(object["type"], "helm.sh/release.v1");
    }

    #[test]
    fn refuses_garbage() {
        for garbage in [&b"{}"[..], b"k8s\0\x0a\xff"] {
            let error = decode(garbage).unwrap_err();
            assert_eq!(error.code, 400);
            assert!(
                error.message.starts_with("invalid protobuf body"),
                "{}",
                error.message
            );
        }
    }
}
