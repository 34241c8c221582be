/* SIP behind the protocol seam (sp_protocol.h): libosip2's parse
 * (sp_sip), the pure rewriter (sp_proxy) and dialog tracking
 * (sp_sip_dialog) as the table of operations the engine calls. */
#ifndef SP_SIP_PROTOCOL_H
#define SP_SIP_PROTOCOL_H

#include "sp_protocol.h"

struct sp_sip_msg;

/* To-tag of the answers the proxy gives itself (503, 483, 513): the ACK of
 * one carries it and ends at the proxy */
#define SP_SIP_REFUSAL_TAG "sp-refused"

const struct sp_protocol *sp_sip_protocol(void);

/* The SIP message inside an inspected struct sp_proto_msg (tests, fuzzers). */
struct sp_sip_msg *sp_sip_protocol_msg(struct sp_proto_msg *m);

#endif
