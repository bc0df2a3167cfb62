// Reads the XML of a Sentinel-2 SAFE product (MTD_MSIL1C.xml, MTD_MSIL2A.xml, a granule's
// MTD_TL.xml) into a plain element tree, refusing what no ESA product contains: a DOCTYPE.
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { CloudsegError } from '../../errors.js';

/**
 * The largest SAFE XML read: the worker's descriptor cap (MAX_DESCRIPTOR_BYTES). A product XML is
 * ~50 KB, a granule MTD_TL.xml with its angle grids under 1 MB.
 */
export const MAX_SAFE_XML_BYTES = 4 * 1024 * 1024;

// Deeper than any ESA schema nests (about 10); bounds the tree walk on hostile input.
const MAX_DEPTH = 64;

/** One element: its local name (namespace prefix dropped), attributes, trimmed text and children in order. */
export interface XmlElement {
  name: string;
  attributes: Readonly<Record<string, string>>;
  text: string;
  children: XmlElement[];
}

// DOCTYPE is refused before parsing, so the parser never sees an entity declaration; entity
// processing is off as well, so nothing is ever expanded or resolved (no billion laughs, no
// external SYSTEM entity read). The five predefined entities are decoded by hand in text values.
const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  processEntities: false,
  htmlEntities: false,
  trimValues: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  maxNestedTags: MAX_DEPTH,
});

/**
 * The root element of a SAFE XML document. SCENE_INVALID when the bytes are larger than
 * MAX_SAFE_XML_BYTES, not UTF-8, not well-formed XML, or declare a DOCTYPE / ENTITY (refused
 * unread: ESA's metadata has none, and an entity is the way to a bomb or a file read).
 */
export function parseSafeXml(bytes: Uint8Array, label: string): XmlElement {
  if (bytes.length > MAX_SAFE_XML_BYTES) {
    throw invalid(`${label} is ${bytes.length} bytes; a Sentinel-2 metadata XML is at most ${MAX_SAFE_XML_BYTES} bytes`, { size: bytes.length, maxBytes: MAX_SAFE_XML_BYTES });
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw invalid(`${label} is not UTF-8 text`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const declaration = /<!\s*(DOCTYPE|ENTITY)\b/i.exec(text);
  if (declaration) {
    throw invalid(`${label} declares a ${declaration[1]!.toUpperCase()}; Sentinel-2 metadata has none, and cloudseg never expands or resolves XML entities`, {
      declaration: declaration[1]!.toUpperCase(),
    });
  }
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    throw invalid(`${label} is not well-formed XML: ${valid.err.msg} (line ${valid.err.line})`, { line: valid.err.line });
  }
  let nodes: unknown;
  try {
    nodes = parser.parse(text);
  } catch (err) {
    if (err instanceof Error && /nested tags/i.test(err.message)) throw invalid(`${label} nests elements more than ${MAX_DEPTH} deep`);
    throw new CloudsegError('SCENE_INVALID', `${label} cannot be parsed as XML: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const roots = toElements(nodes, 0, label);
  if (roots.length !== 1) throw invalid(`${label} has ${roots.length} root elements, not one`);
  return roots[0]!;
}

/** The direct children named `name`. */
export function childrenNamed(parent: XmlElement, name: string): XmlElement[] {
  return parent.children.filter((c) => c.name === name);
}

/** The first direct child named `name`, or null. */
export function childNamed(parent: XmlElement, name: string): XmlElement | null {
  return parent.children.find((c) => c.name === name) ?? null;
}

/**
 * Every element named `name` below `parent`, in document order. ESA moved some groups between
 * schema versions (Product_Organisation inside or beside Product_Info), so fields are found by
 * name under the group that owns them rather than by one fixed path.
 */
export function descendantsNamed(parent: XmlElement, name: string): XmlElement[] {
  const found: XmlElement[] = [];
  const stack = [...parent.children].reverse();
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node.name === name) found.push(node);
    for (let i = node.children.length - 1; i >= 0; i--) stack.push(node.children[i]!);
  }
  return found;
}

/** The first element named `name` below `parent`, or null. */
export function descendantNamed(parent: XmlElement, name: string): XmlElement | null {
  return descendantsNamed(parent, name)[0] ?? null;
}

// fast-xml-parser's ordered output: [{ Tag: [children], ':@': {attributes} }, { '#text': '...' }].
function toElements(nodes: unknown, depth: number, label: string): XmlElement[] {
  if (depth > MAX_DEPTH) throw invalid(`${label} nests elements more than ${MAX_DEPTH} deep`);
  if (!Array.isArray(nodes)) return [];
  const elements: XmlElement[] = [];
  for (const node of nodes as Array<Record<string, unknown>>) {
    for (const [key, value] of Object.entries(node)) {
      if (key === ':@' || key === '#text') continue;
      const attributes: Record<string, string> = {};
      const rawAttributes = node[':@'];
      if (typeof rawAttributes === 'object' && rawAttributes !== null) {
        for (const [name, v] of Object.entries(rawAttributes)) attributes[name] = decodeEntities(String(v));
      }
      const content = Array.isArray(value) ? (value as Array<Record<string, unknown>>) : [];
      const text = content
        .filter((c) => Object.hasOwn(c, '#text'))
        .map((c) => String(c['#text']))
        .join('');
      elements.push({ name: key, attributes, text: decodeEntities(text).trim(), children: toElements(content, depth + 1, label) });
    }
  }
  return elements;
}

// The predefined XML entities and character references: the only ones a document without a DOCTYPE can use.
const PREDEFINED: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeEntities(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, ref: string) => {
    if (ref.startsWith('#')) {
      const code = ref[1] === 'x' || ref[1] === 'X' ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10);
      return Number.isInteger(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return Object.hasOwn(PREDEFINED, ref) ? PREDEFINED[ref]! : whole;
  });
}

function invalid(message: string, details?: Record<string, unknown>): CloudsegError {
  return new CloudsegError('SCENE_INVALID', message, details ? { details } : {});
}
