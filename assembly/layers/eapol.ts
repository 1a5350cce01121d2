// EAPOL, 802.1X EAP over LAN, EtherType 0x888E (IEEE 802.1X-2010 §11.3;
// gopacket v1.1.17 layers/eapol.go, eap.go).
//
//  0        8        16               32
//  +--------+--------+----------------+--------
//  |version | type   | body length    | body
//  +--------+--------+----------------+--------
// gopacket facts reproduced here:
// - fewer than 4 bytes: truncated, error, no layer. Contents are the 4 bytes,
//   the body length is not used: the payload is everything after.
// - Next by type: 0 (EAP packet) → EAP, 3 (Key) → EAPOLKey; Start, Logoff,
//   ASF alert and unknown types have no layer type, so decoding stops quietly.
// - EAP (RFC 3748: code, id, length(16), [type, data]): under 4 bytes or
//   under its length field → truncated error; a length below 4 → error; all
//   before its layer. Its Contents are `length` bytes and nothing follows.
// - EAPOLKey (802.11 key descriptor): under 95 bytes, or under 95 + key data
//   length → truncated error before its layer.
// - after a valid key frame gopacket goes on to Dot11InformationElement
//   (unencrypted key data) or Payload; Dot11InformationElement is not modelled
//   (decoding stops there), Payload is.

import * as ids from '../ids';
import { L_EAPOL, L_NONE, L_PAYLOAD } from '../ids';
import { rd16 } from '../mem';
import { fieldsOf, markTruncated, pushLayer } from '../packet';

export const EAPOL_VERSION: u32 = 0; // u8
export const EAPOL_TYPE: u32 = 1;    // u8: 0 EAP, 1 Start, 2 Logoff, 3 Key, 4 ASF alert
export const EAPOL_LENGTH: u32 = 2;  // u16: body length as written
/** EAP fields. */
export const EAP_CODE: u32 = 0;      // u8: 1 request, 2 response, 3 success, 4 failure
export const EAP_ID: u32 = 1;        // u8
export const EAP_LENGTH: u32 = 2;    // u16
export const EAP_TYPE: u32 = 4;      // u8: 0 when the length is 4
/** EAPOLKey fields. */
export const EAPOLKEY_DESCRIPTOR: u32 = 0; // u8: key descriptor type
export const EAPOLKEY_INFO: u32 = 2;       // u16: key information bits
export const EAPOLKEY_DATALEN: u32 = 4;    // u16: key data length

export function decodeEAPOL(s: usize, e: usize): i32 {
  const len = <u32>(e - s);
  if (len < 4) { markTruncated(); return -1; }
  const i = pushLayer(L_EAPOL, s, 4, len - 4);
  if (i < 0) return -1;
  const type = <u32>load<u8>(s + 1);
  const f = fieldsOf(<u32>i);
  store<u8>(f + EAPOL_VERSION, load<u8>(s));
  store<u8>(f + EAPOL_TYPE, <u8>type);
  store<u16>(f + EAPOL_LENGTH, <u16>rd16(s + 2));
  if (len == 4) return L_NONE; // NextDecoder on an empty payload
  if (type == 0) return decodeEAP(s + 4, e);
  if (type == 3) return decodeEAPOLKey(s + 4, e);
  return L_NONE;
}

/** EAP (RFC 3748): its checks, then its layer when ids.L_EAP exists; nothing follows it. */
function decodeEAP(s: usize, e: usize): i32 {
  const len = <u32>(e - s);
  if (len < 4) { markTruncated(); return -1; }
  const length = rd16(s + 2);
  if (len < length) { markTruncated(); return -1; }
  if (length < 4) return -1;
  const i = pushLayer(ids.L_EAP, s, length, len - length);
  if (i < 0) return -1;
  const f = fieldsOf(<u32>i);
  store<u8>(f + EAP_CODE, load<u8>(s));
  store<u8>(f + EAP_ID, load<u8>(s + 1));
  store<u16>(f + EAP_LENGTH, <u16>length);
  store<u8>(f + EAP_TYPE, length > 4 ? load<u8>(s + 4) : 0);
  return L_NONE;
}

const EAPOL_KEY_LEN: u32 = 95;

/** EAPOL-Key (802.11 key descriptor): checks, then its layer when ids.L_EAPOL_KEY exists. */
function decodeEAPOLKey(s: usize, e: usize): i32 {
  const len = <u32>(e - s);
  if (len < EAPOL_KEY_LEN) { markTruncated(); return -1; }
  const keyDataLen = rd16(s + 93);
  if (len < EAPOL_KEY_LEN + keyDataLen) { markTruncated(); return -1; }
  const info = rd16(s + 1);
  const encrypted = (info & 0x1000) != 0;
  const hlen = encrypted ? EAPOL_KEY_LEN + keyDataLen : EAPOL_KEY_LEN;
  const i = pushLayer(ids.L_EAPOL_KEY, s, hlen, len - hlen);
  if (i < 0) return -1;
  const f = fieldsOf(<u32>i);
  store<u8>(f + EAPOLKEY_DESCRIPTOR, load<u8>(s));
  store<u16>(f + EAPOLKEY_INFO, <u16>info);
  store<u16>(f + EAPOLKEY_DATALEN, <u16>keyDataLen);
  if (!encrypted && keyDataLen > 0) return L_NONE; // Dot11InformationElement: not modelled
  return L_PAYLOAD;
}
