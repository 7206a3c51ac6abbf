"""USEF Flex* messages to and from XML, with the standard library's ElementTree: reading
refuses anything the XSDs do not allow, naming the element and attribute at fault
(``FlexOffer.PTU.2.Power``, PTUs counted from 0 like every list field of the API);
writing gives canonical XML (C14N 2.0), one spelling per message.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ValidationError

from ledger.errors import Rejected
from market.uftp.messages import MESSAGES, FlexMessage, MessageMetadata, Ptu

MAX_MESSAGE_BYTES = 256 * 1024  # a day of 100 PTUs is ~10 kB
_NOT_XML = "UFTP_NOT_XML"
_INVALID = "UFTP_INVALID"


class _NoDocumentType(ET.TreeBuilder):
    """Refuses a DTD before its internal subset is read, so no entity is ever declared
    (and none expanded: the billion-laughs family never starts)."""

    def doctype(self, name: str, pubid: str, system: str) -> None:
        raise Rejected("a UFTP message has no document type declaration", code=_NOT_XML,
                       field="body")


def _parse(data: bytes) -> ET.Element:
    if not data.strip():
        raise Rejected("the body is empty: send a UFTP message", code=_NOT_XML, field="body")
    if len(data) > MAX_MESSAGE_BYTES:
        raise Rejected(f"a UFTP message is at most {MAX_MESSAGE_BYTES} bytes", code=_NOT_XML,
                       field="body")
    parser = ET.XMLParser(target=_NoDocumentType())
    try:
        parser.feed(data)
        return parser.close()
    except ET.ParseError as exc:
        raise Rejected(f"the body is not well-formed XML: {exc}", code=_NOT_XML,
                       field="body") from None


def _no_text(element: ET.Element, where: str) -> None:
    texts = [element.text, *(child.tail for child in element)]
    if any(t and t.strip() for t in texts):
        raise Rejected(f"{where} holds text; USEF elements hold attributes and elements only",
                       code=_INVALID, field=where)


def _validated(model: type[BaseModel], element: ET.Element, where: str,
               **children: Any) -> Any:
    """``element``'s attributes (and the already-read ``children``) as ``model``."""
    _no_text(element, where)
    allowed = {f.alias for f in model.model_fields.values() if f.alias} - set(children)
    for name in element.attrib:
        if name not in allowed:
            raise Rejected(f"{where} has no attribute {name}", code=_INVALID,
                           field=f"{where}.{name}")
    try:
        return model.model_validate({**element.attrib, **children})
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else ""
        problem = "is required" if first["type"] == "missing" else first["msg"]
        raise Rejected(f"{where}.{name}: {problem}", code=_INVALID,
                       field=f"{where}.{name}") from None


def _leaf(model: type[BaseModel], element: ET.Element, where: str) -> Any:
    if len(element):
        raise Rejected(f"{where} has no child elements", code=_INVALID, field=where)
    return _validated(model, element, where)


def read_message(data: bytes) -> FlexMessage:
    """The FlexRequest, FlexOffer or FlexOrder in ``data``.

    Raises:
        Rejected: ``UFTP_NOT_XML`` (field ``body``) for bytes that are not one well-formed
            XML document without a DTD; ``UFTP_UNKNOWN_MESSAGE`` for another root element;
            ``UFTP_INVALID`` naming the element or attribute that breaks the XSD.
    """
    root = _parse(data)
    kind = MESSAGES.get(root.tag)
    if kind is None:
        raise Rejected(f"{root.tag} is not a FlexRequest, FlexOffer or FlexOrder",
                       code="UFTP_UNKNOWN_MESSAGE", field="body")
    where = root.tag
    children = list(root)
    if not children or children[0].tag != "MessageMetadata":
        raise Rejected(f"{where} starts with its MessageMetadata", code=_INVALID,
                       field=f"{where}.MessageMetadata")
    ptus: list[Ptu] = []
    extensions: list[str] = []
    for child in children[1:]:
        if child.tag == "PTU" and not extensions:
            ptus.append(_leaf(Ptu, child, f"{where}.PTU.{len(ptus)}"))
        elif child.tag.startswith("{"):  # xs:any namespace="##other": qualified elements
            child.tail = None
            extensions.append(ET.tostring(child, encoding="unicode"))
        else:
            raise Rejected(f"{where} has no element {child.tag} here (MessageMetadata, then "
                           "PTUs, then elements of other namespaces)", code=_INVALID,
                           field=f"{where}.{child.tag}")
    metadata = _leaf(MessageMetadata, children[0], f"{where}.MessageMetadata")
    message: FlexMessage = _validated(kind, root, where, MessageMetadata=metadata,
                                      PTU=tuple(ptus), extensions=tuple(extensions))
    return message


def canonical(data: bytes) -> str:
    """``data`` in canonical XML (C14N 2.0, whitespace between elements and comments
    dropped): how a message received is kept, so that two spellings of one message are
    kept alike. Only for bytes ``read_message`` accepted."""
    return ET.canonicalize(xml_data=data, strip_text=True)


def write_message(message: BaseModel) -> str:
    """``message`` (a Flex* message, a response, or ``FlexOrders``) as canonical XML."""
    return ET.canonicalize(ET.tostring(_element(message, type(message).__name__),
                                       encoding="unicode"))


def _element(model: BaseModel, tag: str) -> ET.Element:
    element = ET.Element(tag)
    extensions: tuple[str, ...] = ()
    for name, field in type(model).model_fields.items():
        value = getattr(model, name)
        if name == "extensions":
            extensions = value
        elif isinstance(value, BaseModel):
            element.append(_element(value, field.alias or name))
        elif isinstance(value, tuple):
            element.extend(_element(item, field.alias or name) for item in value)
        elif value is not None:
            element.set(field.alias or name, _lexical(value))
    element.extend(ET.fromstring(text) for text in extensions)
    return element


def _lexical(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
