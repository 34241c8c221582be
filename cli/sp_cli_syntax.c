#include "config.h"
#include "sp_cli_syntax.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- the usage string as tokens, then as a tree ---- */

enum sp_tok { TOK_WORD, TOK_LBRACE, TOK_RBRACE, TOK_BAR, TOK_LBRACK, TOK_RBRACK, TOK_ELLIPSIS, TOK_END };
enum sp_node_kind { NODE_KW, NODE_VAL, NODE_SEQ, NODE_ALT, NODE_OPT, NODE_REP };

#define SP_SYN_MAX_TOKS 48
#define SP_SYN_MAX_NODES 64
#define SP_SYN_MAX_KIDS 8
#define SP_SYN_MAX_STACK 32

struct sp_syn_node {
	enum sp_node_kind kind;
	const char *word, *after;
	int ordinal;
	int kid[SP_SYN_MAX_KIDS];
	int n_kid;
};

struct sp_syn {
	enum sp_tok tok[SP_SYN_MAX_TOKS];
	char *word[SP_SYN_MAX_TOKS];
	int n_tok, pos;
	struct sp_syn_node node[SP_SYN_MAX_NODES];
	int n_node;
	const char *last_kw; /* while parsing: the keyword written last */
	int n_values;
	bool bad;
};

/* Splits buf in place: a word runs to a space or one of "{}|", or to a ']'
 * that closes no '[' of its own ("N[-M]" is one word). */
static void sp_syn_tokenize(struct sp_syn *s, char *buf)
{
	char *ends[SP_SYN_MAX_TOKS];
	int n_ends = 0;

	for (char *p = buf; *p && s->n_tok < SP_SYN_MAX_TOKS - 1;) {
		static const char sym[] = "{}|[]";
		static const enum sp_tok sym_tok[] = { TOK_LBRACE, TOK_RBRACE, TOK_BAR, TOK_LBRACK, TOK_RBRACK };
		const char *k = strchr(sym, *p);
		int depth = 0;

		if (isspace((unsigned char)*p)) {
			p++;
			continue;
		}
		if (k) {
			s->tok[s->n_tok++] = sym_tok[k - sym];
			p++;
			continue;
		}
		s->word[s->n_tok] = p;
		for (; *p && !isspace((unsigned char)*p) && !strchr("{}|", *p) && !(*p == ']' && depth == 0); p++)
			depth += *p == '[' ? 1 : *p == ']' ? -1 : 0;
		ends[n_ends++] = p;
		s->tok[s->n_tok++] = TOK_WORD;
	}
	if (*buf && s->n_tok >= SP_SYN_MAX_TOKS - 1)
		s->bad = true;
	s->tok[s->n_tok] = TOK_END;
	/* only now: the character a word ends at may be a symbol read above */
	for (int i = 0; i < n_ends; i++)
		*ends[i] = '\0';
	for (int i = 0; i < s->n_tok; i++)
		if (s->tok[i] == TOK_WORD && strcmp(s->word[i], "...") == 0)
			s->tok[i] = TOK_ELLIPSIS;
}

static int sp_syn_new(struct sp_syn *s, enum sp_node_kind kind)
{
	if (s->n_node >= SP_SYN_MAX_NODES) {
		s->bad = true;
		return 0;
	}
	memset(&s->node[s->n_node], 0, sizeof(s->node[0]));
	s->node[s->n_node].kind = kind;
	return s->n_node++;
}

static void sp_syn_add_kid(struct sp_syn *s, int parent, int kid)
{
	struct sp_syn_node *p = &s->node[parent];

	if (p->n_kid >= SP_SYN_MAX_KIDS)
		s->bad = true;
	else
		p->kid[p->n_kid++] = kid;
}

static int sp_syn_alt(struct sp_syn *s);

static int sp_syn_seq(struct sp_syn *s)
{
	int seq = sp_syn_new(s, NODE_SEQ);

	while (!s->bad) {
		enum sp_tok t = s->tok[s->pos];
		struct sp_syn_node *p = &s->node[seq];
		int item;

		if (t == TOK_END || t == TOK_BAR || t == TOK_RBRACE || t == TOK_RBRACK)
			break;
		s->pos++;
		if (t == TOK_ELLIPSIS) {
			if (p->n_kid == 0) {
				s->bad = true;
				break;
			}
			item = sp_syn_new(s, NODE_REP);
			sp_syn_add_kid(s, item, s->node[seq].kid[s->node[seq].n_kid - 1]);
			s->node[seq].kid[s->node[seq].n_kid - 1] = item;
			continue;
		}
		if (t == TOK_WORD) {
			const char *w = s->word[s->pos - 1];
			bool value = false;

			for (const char *c = w; *c; c++)
				value |= isupper((unsigned char)*c) != 0;
			item = sp_syn_new(s, value ? NODE_VAL : NODE_KW);
			s->node[item].word = w;
			s->node[item].after = value ? s->last_kw : "";
			s->node[item].ordinal = value ? s->n_values++ : 0;
			if (!value)
				s->last_kw = w;
		} else {
			enum sp_tok close = t == TOK_LBRACE ? TOK_RBRACE : TOK_RBRACK;
			int inner = sp_syn_alt(s);

			if (s->tok[s->pos] != close) {
				s->bad = true;
				break;
			}
			s->pos++;
			if (t == TOK_LBRACE) {
				item = inner;
			} else {
				item = sp_syn_new(s, NODE_OPT);
				sp_syn_add_kid(s, item, inner);
			}
		}
		sp_syn_add_kid(s, seq, item);
	}
	return seq;
}

static int sp_syn_alt(struct sp_syn *s)
{
	int first = sp_syn_seq(s), alt;

	if (s->tok[s->pos] != TOK_BAR)
		return first;
	alt = sp_syn_new(s, NODE_ALT);
	sp_syn_add_kid(s, alt, first);
	while (!s->bad && s->tok[s->pos] == TOK_BAR) {
		s->pos++;
		sp_syn_add_kid(s, alt, sp_syn_seq(s));
	}
	return alt;
}

/* ---- walking the words through the tree ---- */

struct sp_syn_walk {
	const struct sp_syn *s;
	const char *partial;
	struct sp_cli_syntax_next *next;
};

static void sp_syn_offer(struct sp_syn_walk *w, const struct sp_syn_node *nd)
{
	struct sp_cli_syntax_next *next = w->next;
	bool value = nd->kind == NODE_VAL;

	next->fits = true;
	if (!value && strncasecmp(w->partial, nd->word, strlen(w->partial)) != 0)
		return;
	for (int i = 0; i < next->n; i++)
		if (next->items[i].is_value == value && strcmp(next->items[i].word, nd->word) == 0 &&
		    strcmp(next->items[i].after, nd->after) == 0)
			return;
	if (next->n < (int)(sizeof(next->items) / sizeof(next->items[0])))
		next->items[next->n++] = (struct sp_cli_syntax_item){
			.word = nd->word, .after = nd->after, .ordinal = nd->ordinal, .is_value = value };
}

/* stack: the nodes still to match, the next one last. */
static void sp_syn_walk(struct sp_syn_walk *w, const int *stack, int depth, char *const *words, int n)
{
	int st[SP_SYN_MAX_STACK];
	const struct sp_syn_node *nd;

	if (depth == 0) {
		if (n == 0)
			w->next->fits = w->next->can_end = true;
		return;
	}
	if (depth + SP_SYN_MAX_KIDS + 1 > SP_SYN_MAX_STACK)
		return;
	memcpy(st, stack, sizeof(st[0]) * (size_t)(depth - 1));
	nd = &w->s->node[stack[depth - 1]];
	depth--;
	switch (nd->kind) {
	case NODE_KW:
	case NODE_VAL:
		if (n == 0)
			sp_syn_offer(w, nd);
		else if (nd->kind == NODE_VAL && strcmp(nd->word, "TEXT") == 0)
			sp_syn_walk(w, st, depth, words + n, 0); /* the rest of the line */
		else if (nd->kind == NODE_VAL || strncasecmp(words[0], nd->word, strlen(words[0])) == 0)
			sp_syn_walk(w, st, depth, words + 1, n - 1);
		break;
	case NODE_SEQ:
		for (int i = nd->n_kid - 1; i >= 0; i--)
			st[depth++] = nd->kid[i];
		sp_syn_walk(w, st, depth, words, n);
		break;
	case NODE_ALT:
		for (int i = 0; i < nd->n_kid; i++) {
			st[depth] = nd->kid[i];
			sp_syn_walk(w, st, depth + 1, words, n);
		}
		break;
	case NODE_OPT: /* with it first: `?` lists in the usage's order */
		st[depth] = nd->kid[0];
		sp_syn_walk(w, st, depth + 1, words, n);
		sp_syn_walk(w, st, depth, words, n);
		break;
	case NODE_REP:
		/* once, then (only while words remain: each round takes one) again */
		st[depth] = nd->kid[0];
		sp_syn_walk(w, st, depth + 1, words, n);
		if (n > 0) {
			st[depth] = (int)(nd - w->s->node);
			st[depth + 1] = nd->kid[0];
			sp_syn_walk(w, st, depth + 2, words, n);
		}
		break;
	}
}

void sp_cli_syntax_next(const char *usage, char *const *words, int n, const char *partial,
			struct sp_cli_syntax_next *next)
{
	struct sp_syn s = { .last_kw = "" };
	struct sp_syn_walk w = { .s = &s, .partial = partial ? partial : "", .next = next };
	int root;

	memset(next, 0, sizeof(*next));
	if (!usage) {
		/* a command without arguments: complete when nothing follows */
		next->fits = next->can_end = n == 0;
		return;
	}
	if ((size_t)snprintf(next->buf, sizeof(next->buf), "%s", usage) >= sizeof(next->buf))
		return;
	sp_syn_tokenize(&s, next->buf);
	root = sp_syn_alt(&s);
	if (s.bad || s.tok[s.pos] != TOK_END)
		return;
	sp_syn_walk(&w, &root, 1, words, n);
}
