#include "workloads/module_regex.h"

#include <algorithm>
#include <bitset>
#include <cctype>
#include <utility>
#include <vector>

namespace zerosim {

namespace {

using CharSet = std::bitset<256>;

enum class AssertKind : uint8_t {
  line_start,        // ^
  line_start_m,      // ^ with MULTILINE
  line_end,          // $ (end, or before a final newline)
  line_end_m,        // $ with MULTILINE
  text_start,        // \A
  text_end,          // \Z
  word_boundary,     // \b
  not_word_boundary  // \B
};

struct Node {
  enum class Kind { empty, set, concat, alt, repeat, assertion, look } kind = Kind::empty;
  CharSet set;                              // set
  std::vector<std::unique_ptr<Node>> kids;  // concat, alt; repeat and look: one
  int min = 0, max = 0;                     // repeat; max < 0: unbounded
  AssertKind assertion = AssertKind::line_start;
  bool negate = false, behind = false;  // look
};
using NodePtr = std::unique_ptr<Node>;

NodePtr make(Node::Kind k) {
  auto n = std::make_unique<Node>();
  n->kind = k;
  return n;
}

struct Flags {
  bool ignore_case = false, multiline = false, dot_all = false, verbose = false;
};

bool is_word(unsigned char c) { return std::isalnum(c) || c == '_'; }

CharSet digit_set() {
  CharSet s;
  for (int c = '0'; c <= '9'; ++c) s.set(static_cast<size_t>(c));
  return s;
}
CharSet word_set() {
  CharSet s;
  for (int c = 0; c < 128; ++c)
    if (is_word(static_cast<unsigned char>(c))) s.set(static_cast<size_t>(c));
  return s;
}
CharSet space_set() {  // Python's str.isspace() over ASCII: also the \x1c-\x1f separators
  CharSet s;
  for (const int c : {0x20, 0x09, 0x0a, 0x0d, 0x0c, 0x0b, 0x1c, 0x1d, 0x1e, 0x1f})
    s.set(static_cast<size_t>(c));
  return s;
}

// ---- parser: Python's sre_parse for str patterns, on the subset module paths need ----
class Parser {
 public:
  explicit Parser(const std::string& p) : p_(p) {}

  NodePtr parse() {
    for (size_t i = 0; i < p_.size(); ++i)
      if (static_cast<unsigned char>(p_[i]) >= 0x80)
        error("non-ASCII character at position " + std::to_string(i) +
              " (module paths are ASCII; write \\xNN for a byte)");
    NodePtr n = alternation(0, Flags{}, true);
    if (pos_ < p_.size()) {
      // alternation() stops at ')' only
      error("unbalanced parenthesis at position " + std::to_string(pos_));
    }
    return n;
  }

 private:
  [[noreturn]] static void error(const std::string& m) { throw RegexError(m); }
  [[noreturn]] void error_at(const std::string& m, size_t at) const {
    error(m + " at position " + std::to_string(at));
  }

  bool at_end() const { return pos_ >= p_.size(); }
  char peek() const { return at_end() ? '\0' : p_[pos_]; }
  bool match(char c) {
    if (!at_end() && p_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  // Alternatives separated by '|', up to a ')' (not consumed) or the end.
  NodePtr alternation(int depth, Flags flags, bool top) {
    if (depth > ModuleRegex::kMaxNesting)
      error("groups nested more than " + std::to_string(ModuleRegex::kMaxNesting) + " deep (the limit)");
    auto alt = make(Node::Kind::alt);
    bool first = top;
    for (;;) {
      alt->kids.push_back(sequence(depth, flags, first));
      first = false;
      if (!match('|')) break;
    }
    if (alt->kids.size() == 1) return std::move(alt->kids.front());
    return alt;
  }

  struct Item {
    NodePtr node;
    enum class Kind { normal, anchor, repeat } kind = Kind::normal;
  };

  // One alternative. `first`: the pattern's very beginning, where global flags like (?i) may stand.
  NodePtr sequence(int depth, Flags& flags, bool first) {
    std::vector<Item> items;
    while (!at_end()) {
      const size_t here = pos_;
      const char c = p_[pos_];
      if (c == '|' || c == ')') break;
      ++pos_;
      if (flags.verbose) {
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') continue;
        if (c == '#') {
          while (!at_end() && p_[pos_] != '\n') ++pos_;
          continue;
        }
      }
      if (c == '*' || c == '+' || c == '?' || c == '{') {
        int lo = 0, hi = -1;
        if (c == '+') lo = 1;
        if (c == '?') hi = 1;
        if (c == '{' && !counted_repeat(lo, hi)) {  // not a repeat: a literal '{'
          items.push_back({literal('{', flags), Item::Kind::normal});
          continue;
        }
        if (items.empty() || items.back().kind == Item::Kind::anchor) error_at("nothing to repeat", here);
        if (items.back().kind == Item::Kind::repeat) error_at("multiple repeat", here);
        if (match('+')) error_at("possessive quantifiers (*+, ++, ?+, {m,n}+) are not supported", here);
        match('?');  // lazy: the same language, so the same full-match answer
        auto r = make(Node::Kind::repeat);
        r->min = lo;
        r->max = hi;
        r->kids.push_back(std::move(items.back().node));
        items.back() = {std::move(r), Item::Kind::repeat};
        continue;
      }
      switch (c) {
        case '.': {
          auto n = make(Node::Kind::set);
          n->set.set();
          if (!flags.dot_all) n->set.reset('\n');
          items.push_back({std::move(n), Item::Kind::normal});
          break;
        }
        case '^':
          items.push_back({assertion(flags.multiline ? AssertKind::line_start_m : AssertKind::line_start),
                           Item::Kind::anchor});
          break;
        case '$':
          items.push_back({assertion(flags.multiline ? AssertKind::line_end_m : AssertKind::line_end),
                           Item::Kind::anchor});
          break;
        case '[':
          items.push_back({char_class(here, flags), Item::Kind::normal});
          break;
        case '(': {
          Item item;
          if (group(here, depth, flags, first && items.empty(), item)) items.push_back(std::move(item));
          break;
        }
        case '\\':
          items.push_back(escape(flags));
          break;
        default:
          items.push_back({literal(c, flags), Item::Kind::normal});
      }
    }
    auto seq = make(Node::Kind::concat);
    for (auto& i : items) seq->kids.push_back(std::move(i.node));
    return seq;
  }

  // After '{': m}, m,}, ,n}, m,n}. False (and nothing consumed) when it is not a repeat.
  bool counted_repeat(int& lo, int& hi) {
    const size_t start = pos_;
    auto number = [&](std::string& digits) {
      while (!at_end() && std::isdigit(static_cast<unsigned char>(p_[pos_]))) digits += p_[pos_++];
    };
    std::string a, b;
    number(a);
    bool comma = false;
    if (match(',')) {
      comma = true;
      number(b);
    }
    if (!match('}') || (a.empty() && b.empty() && !comma)) {
      pos_ = start;
      return false;
    }
    if (!comma) b = a;
    auto value = [&](const std::string& d) {
      // Python allows up to 2^32-2; longer programs are cut by kMaxProgramSize anyway.
      if (d.size() > 6) error_at("repeat count " + d + " is too large (the limit is 100000)", start);
      const int v = std::stoi(d);
      if (v > 100000) error_at("repeat count " + d + " is too large (the limit is 100000)", start);
      return v;
    };
    lo = a.empty() ? 0 : value(a);
    hi = b.empty() ? -1 : value(b);
    if (hi >= 0 && hi < lo) error_at("min repeat greater than max repeat", start);
    return true;
  }

  static NodePtr assertion(AssertKind k) {
    auto n = make(Node::Kind::assertion);
    n->assertion = k;
    return n;
  }

  static void fold_case(CharSet& s) {
    for (int c = 'a'; c <= 'z'; ++c) {
      const auto lower = static_cast<size_t>(c), upper = static_cast<size_t>(c - 'a' + 'A');
      if (s.test(lower) || s.test(upper)) s.set(lower).set(upper);
    }
  }

  static NodePtr literal(char c, const Flags& flags) {
    auto n = make(Node::Kind::set);
    n->set.set(static_cast<unsigned char>(c));
    if (flags.ignore_case) fold_case(n->set);
    return n;
  }

  static NodePtr set_node(CharSet s, const Flags& flags) {
    auto n = make(Node::Kind::set);
    if (flags.ignore_case) fold_case(s);
    n->set = s;
    return n;
  }

  int hex_digits(size_t count, size_t at) {
    int v = 0;
    for (size_t i = 0; i < count; ++i) {
      const char h = peek();
      if (!std::isxdigit(static_cast<unsigned char>(h))) error_at("incomplete escape", at);
      ++pos_;
      v = v * 16 + (std::isdigit(static_cast<unsigned char>(h)) ? h - '0' : std::tolower(h) - 'a' + 10);
      if (v > 0xff) error_at("characters above \\xff are not supported (module paths are ASCII)", at);
    }
    return v;
  }

  static bool octal(char c) { return c >= '0' && c <= '7'; }

  // An escape that stands for one character (both in and outside classes), or -1 when `c` is not one.
  int char_escape(char c, size_t at) {
    switch (c) {
      case 'a':
        return '\a';
      case 'f':
        return '\f';
      case 'n':
        return '\n';
      case 'r':
        return '\r';
      case 't':
        return '\t';
      case 'v':
        return '\v';
      case 'x':
        return hex_digits(2, at);
      case 'u':
        return hex_digits(4, at);
      case 'U':
        return hex_digits(8, at);
      case 'N':
        error_at("named characters (\\N{...}) are not supported", at);
      default:
        break;
    }
    if (std::isalnum(static_cast<unsigned char>(c))) return -1;
    return static_cast<unsigned char>(c);  // an escaped punctuation mark is itself
  }

  // \d \D \w \W \s \S, or false.
  static bool category(char c, CharSet& out) {
    switch (c) {
      case 'd':
        out = digit_set();
        return true;
      case 'D':
        out = ~digit_set();
        return true;
      case 'w':
        out = word_set();
        return true;
      case 'W':
        out = ~word_set();
        return true;
      case 's':
        out = space_set();
        return true;
      case 'S':
        out = ~space_set();
        return true;
      default:
        return false;
    }
  }

  Item escape(const Flags& flags) {
    const size_t at = pos_ - 1;
    if (at_end()) error_at("bad escape (end of pattern)", at);
    const char c = p_[pos_++];
    CharSet cat;
    if (category(c, cat)) return {set_node(cat, flags), Item::Kind::normal};
    switch (c) {
      case 'A':
        return {assertion(AssertKind::text_start), Item::Kind::anchor};
      case 'Z':
        return {assertion(AssertKind::text_end), Item::Kind::anchor};
      case 'b':
        return {assertion(AssertKind::word_boundary), Item::Kind::anchor};
      case 'B':
        return {assertion(AssertKind::not_word_boundary), Item::Kind::anchor};
      default:
        break;
    }
    if (c == '0') {  // octal: \0, \0o, \0oo
      int v = 0;
      for (int i = 0; i < 2 && octal(peek()); ++i) v = v * 8 + (p_[pos_++] - '0');
      return {literal(static_cast<char>(v), flags), Item::Kind::normal};
    }
    if (std::isdigit(static_cast<unsigned char>(c))) {
      // Three octal digits are an octal escape; anything else is a group reference.
      if (octal(c) && pos_ + 1 < p_.size() && octal(p_[pos_]) && octal(p_[pos_ + 1])) {
        const int v = (c - '0') * 64 + (p_[pos_] - '0') * 8 + (p_[pos_ + 1] - '0');
        if (v > 0377) error_at("octal escape value outside of range 0-0o377", at);
        pos_ += 2;
        return {literal(static_cast<char>(v), flags), Item::Kind::normal};
      }
      error_at("back-references (\\" + std::string(1, c) + ") are not supported", at);
    }
    const int v = char_escape(c, at);
    if (v < 0) error_at("bad escape \\" + std::string(1, c), at);
    return {literal(static_cast<char>(v), flags), Item::Kind::normal};
  }

  // After '['.
  NodePtr char_class(size_t at, const Flags& flags) {
    CharSet s;
    const bool negate = match('^');
    bool first = true;
    for (;;) {
      if (at_end()) error_at("unterminated character set", at);
      const size_t item_at = pos_;
      char c = p_[pos_++];
      if (c == ']' && !first) break;
      first = false;
      // One member: a character (lo) or a category (cat).
      int lo = -1;
      CharSet cat;
      bool is_cat = false;
      auto member = [&](char ch, size_t ch_at, int& value, CharSet& category_set, bool& category_flag) {
        if (ch != '\\') {
          value = static_cast<unsigned char>(ch);
          return;
        }
        if (at_end()) error_at("bad escape (end of pattern)", ch_at);
        const char e = p_[pos_++];
        if (category(e, category_set)) {
          category_flag = true;
          return;
        }
        if (e == 'b') {
          value = '\b';
          return;
        }
        if (octal(e)) {  // up to three octal digits
          int v = e - '0';
          for (int i = 0; i < 2 && octal(peek()); ++i) v = v * 8 + (p_[pos_++] - '0');
          if (v > 0377) error_at("octal escape value outside of range 0-0o377", ch_at);
          value = v;
          return;
        }
        value = char_escape(e, ch_at);
        if (value < 0) error_at("bad escape \\" + std::string(1, e), ch_at);
      };
      member(c, item_at, lo, cat, is_cat);
      // A range lo-hi, unless the '-' is the last character before ']'.
      if (pos_ + 1 < p_.size() && p_[pos_] == '-' && p_[pos_ + 1] != ']') {
        ++pos_;
        const size_t hi_at = pos_;
        const char h = p_[pos_++];
        int hi = -1;
        CharSet hcat;
        bool hi_is_cat = false;
        member(h, hi_at, hi, hcat, hi_is_cat);
        if (is_cat || hi_is_cat || hi < lo) error_at("bad character range", item_at);
        for (int v = lo; v <= hi; ++v) s.set(static_cast<size_t>(v));
        continue;
      }
      if (is_cat)
        s |= cat;
      else
        s.set(static_cast<size_t>(lo));
    }
    if (flags.ignore_case) fold_case(s);  // before negation, as Python does
    if (negate) s = ~s;
    auto n = make(Node::Kind::set);
    n->set = s;
    return n;
  }

  // Inline flags "aiLmsux"; false at a character that is not one.
  bool flag_letter(char c, Flags& f, bool on, size_t at) {
    switch (c) {
      case 'i':
        f.ignore_case = on;
        return true;
      case 'm':
        f.multiline = on;
        return true;
      case 's':
        f.dot_all = on;
        return true;
      case 'x':
        f.verbose = on;
        return true;
      case 'a':
      case 'u':
        if (!on) error_at("bad inline flags: cannot turn off flags 'a', 'u' and 'L'", at);
        return true;  // ASCII / Unicode: the same on ASCII module paths
      case 'L':
        error_at("bad inline flags: cannot use 'L' flag with a str pattern", at);
      default:
        return false;
    }
  }

  // After '('. Returns false when the construct adds nothing to the sequence (a comment, global flags).
  bool group(size_t at, int depth, Flags& flags, bool at_start, Item& out) {
    auto body = [&](Flags inner) {
      NodePtr n = alternation(depth + 1, inner, false);
      if (!match(')')) error_at("missing ), unterminated subpattern", at);
      return n;
    };
    if (!match('?')) {
      out = {body(flags), Item::Kind::normal};
      return true;
    }
    if (at_end()) error_at("unexpected end of pattern", at);
    const char c = p_[pos_++];
    switch (c) {
      case ':':
        out = {body(flags), Item::Kind::normal};
        return true;
      case 'P': {
        if (match('<')) {
          std::string name;
          while (!at_end() && p_[pos_] != '>') name += p_[pos_++];
          if (!match('>')) error_at("missing >, unterminated name", at);
          const bool ident = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0])) &&
                             std::all_of(name.begin(), name.end(),
                                         [](char ch) { return is_word(static_cast<unsigned char>(ch)); });
          if (!ident) error_at("bad character in group name '" + name + "'", at);
          if (std::find(names_.begin(), names_.end(), name) != names_.end())
            error_at("redefinition of group name '" + name + "'", at);
          names_.push_back(name);
          out = {body(flags), Item::Kind::normal};
          return true;
        }
        if (match('=')) error_at("back-references ((?P=name)) are not supported", at);
        error_at("unknown extension ?P" + std::string(1, peek()), at);
      }
      case '=':
      case '!': {
        auto n = make(Node::Kind::look);
        n->negate = c == '!';
        n->kids.push_back(body(flags));
        out = {std::move(n), Item::Kind::normal};
        return true;
      }
      case '<': {
        if (at_end() || (peek() != '=' && peek() != '!'))
          error_at("unknown extension ?<" + std::string(1, peek()), at);
        auto n = make(Node::Kind::look);
        n->negate = p_[pos_++] == '!';
        n->behind = true;
        n->kids.push_back(body(flags));
        if (fixed_width(*n->kids.front()) < 0) error_at("look-behind requires fixed-width pattern", at);
        out = {std::move(n), Item::Kind::normal};
        return true;
      }
      case '#':
        while (!at_end() && p_[pos_] != ')') ++pos_;
        if (!match(')')) error_at("missing ), unterminated comment", at);
        return false;
      case '(':
        error_at("conditional groups ((?(...)...)) are not supported", at);
      case '>':
        error_at("atomic groups ((?>...)) are not supported", at);
      default:
        break;
    }
    // Inline flags: (?flags) for the whole pattern, or (?flags-flags:...) for the group.
    --pos_;
    Flags f = flags;
    const size_t letters = pos_;
    while (!at_end() && flag_letter(p_[pos_], f, true, at)) ++pos_;
    const std::string on = p_.substr(letters, pos_ - letters);
    if (pos_ == letters && peek() != '-') error_at("unknown extension ?" + std::string(1, c), at);
    if (match(')')) {
      if (!at_start) error_at("global flags not at the start of the expression", at);
      flags = f;
      return false;
    }
    if (match('-')) {
      bool any = false;
      while (!at_end() && p_[pos_] != ':') {
        if (on.find(p_[pos_]) != std::string::npos) error_at("bad inline flags: flag turned on and off", at);
        if (!flag_letter(p_[pos_], f, false, at)) break;
        ++pos_;
        any = true;
      }
      if (!any) error_at("missing flag", at);
    }
    if (!match(':')) error_at("unknown extension ?" + std::string(1, c), at);
    out = {body(f), Item::Kind::normal};
    return true;
  }

 public:
  // Characters a pattern always matches, or -1 when that varies.
  static long fixed_width(const Node& n) {
    switch (n.kind) {
      case Node::Kind::empty:
      case Node::Kind::assertion:
      case Node::Kind::look:
        return 0;
      case Node::Kind::set:
        return 1;
      case Node::Kind::concat: {
        long sum = 0;
        for (const auto& k : n.kids) {
          const long w = fixed_width(*k);
          if (w < 0) return -1;
          sum += w;
        }
        return sum;
      }
      case Node::Kind::alt: {
        long w = -2;
        for (const auto& k : n.kids) {
          const long kw = fixed_width(*k);
          if (kw < 0 || (w != -2 && kw != w)) return -1;
          w = kw;
        }
        return w < 0 ? 0 : w;
      }
      case Node::Kind::repeat: {
        if (n.max != n.min) return -1;
        const long w = fixed_width(*n.kids.front());
        return w < 0 ? -1 : w * n.min;
      }
    }
    return -1;
  }

 private:
  const std::string& p_;
  size_t pos_ = 0;
  std::vector<std::string> names_;
};

}  // namespace

// ---- program: a Thompson NFA, simulated position by position ----
struct ModuleRegex::Program {
  enum class Op : uint8_t { chr, split, jmp, assertion, look, match };
  struct Inst {
    Op op;
    AssertKind assertion = AssertKind::line_start;
    int x = 0, y = 0;  // split/jmp targets; chr: set index; look: look index
  };
  struct Look {
    int start = 0, end = 0;  // instruction range [start, end), its body ending in `match`
    bool negate = false, behind = false;
    long width = 0;              // lookbehind
    const Node* body = nullptr;  // until compiled
  };
  std::vector<Inst> code;
  std::vector<CharSet> sets;
  std::vector<Look> looks;
  int main_end = 0;

  size_t work = 0;  // compile steps: a repeat of an empty group emits nothing but still costs

  int emit(Inst i) {
    if (code.size() >= kMaxProgramSize)
      throw RegexError("pattern is too complex: over " + std::to_string(kMaxProgramSize) +
                       " NFA states once repeats are expanded (the limit)");
    code.push_back(i);
    return static_cast<int>(code.size()) - 1;
  }

  void compile(const Node& n) {
    if (++work > 50 * kMaxProgramSize)
      throw RegexError("pattern is too complex: its repeats expand to over " +
                       std::to_string(50 * kMaxProgramSize) + " steps (the limit)");
    switch (n.kind) {
      case Node::Kind::empty:
        return;
      case Node::Kind::set:
        sets.push_back(n.set);
        emit({Op::chr, AssertKind::line_start, static_cast<int>(sets.size()) - 1, 0});
        return;
      case Node::Kind::concat:
        for (const auto& k : n.kids) compile(*k);
        return;
      case Node::Kind::alt: {
        std::vector<int> jumps;
        for (size_t i = 0; i < n.kids.size(); ++i) {
          if (i + 1 < n.kids.size()) {
            const int split = emit({Op::split, AssertKind::line_start, 0, 0});
            code[static_cast<size_t>(split)].x = split + 1;
            compile(*n.kids[i]);
            jumps.push_back(emit({Op::jmp, AssertKind::line_start, 0, 0}));
            code[static_cast<size_t>(split)].y = static_cast<int>(code.size());
          } else {
            compile(*n.kids[i]);
          }
        }
        for (const int j : jumps) code[static_cast<size_t>(j)].x = static_cast<int>(code.size());
        return;
      }
      case Node::Kind::repeat: {
        const Node& body = *n.kids.front();
        for (int i = 0; i < n.min; ++i) compile(body);
        if (n.max < 0) {  // L: split(L+1, out); body; jmp L; out:
          const int split = emit({Op::split, AssertKind::line_start, 0, 0});
          code[static_cast<size_t>(split)].x = split + 1;
          compile(body);
          emit({Op::jmp, AssertKind::line_start, split, 0});
          code[static_cast<size_t>(split)].y = static_cast<int>(code.size());
          return;
        }
        std::vector<int> splits;  // each optional copy may be skipped to the end
        for (int i = n.min; i < n.max; ++i) {
          const int split = emit({Op::split, AssertKind::line_start, 0, 0});
          code[static_cast<size_t>(split)].x = split + 1;
          splits.push_back(split);
          compile(body);
        }
        for (const int s : splits) code[static_cast<size_t>(s)].y = static_cast<int>(code.size());
        return;
      }
      case Node::Kind::assertion:
        emit({Op::assertion, n.assertion, 0, 0});
        return;
      case Node::Kind::look: {
        Look l;
        l.negate = n.negate;
        l.behind = n.behind;
        l.width = n.behind ? Parser::fixed_width(*n.kids.front()) : 0;
        l.body = n.kids.front().get();
        looks.push_back(l);
        emit({Op::look, AssertKind::line_start, static_cast<int>(looks.size()) - 1, 0});
        return;
      }
    }
  }

  void build(const Node& root) {
    compile(root);
    emit({Op::match, AssertKind::line_start, 0, 0});
    main_end = static_cast<int>(code.size());
    // Lookaround bodies after the main program, each a range of its own (compiling one may add more).
    for (size_t i = 0; i < looks.size(); ++i) {
      const Node* body = looks[i].body;
      const int start = static_cast<int>(code.size());
      compile(*body);
      emit({Op::match, AssertKind::line_start, 0, 0});
      looks[i].start = start;
      looks[i].end = static_cast<int>(code.size());
      looks[i].body = nullptr;
    }
  }
};

namespace {

// One full_match: the text, and lookaround answers per (lookaround, position).
class Matcher {
 public:
  Matcher(const ModuleRegex::Program& p, std::string_view text) : p_(p), text_(text) {
    if (!p.looks.empty()) memo_.assign(p.looks.size(), std::vector<int8_t>(text.size() + 1, -1));
  }

  // Runs the instructions [start, end) from position `from`. end_at >= 0: a match must end there;
  // end_at < 0: any match (a lookahead's prefix match).
  bool run(int start, int end, size_t from, long end_at) {
    Scratch s(static_cast<size_t>(end - start));
    std::vector<int> current, next;
    bool matched = false;
    closure(s, start, start, from, current, matched);
    for (size_t pos = from;; ++pos) {
      if (matched && (end_at < 0 || static_cast<long>(pos) == end_at)) return true;
      if (current.empty() || pos >= text_.size() || (end_at >= 0 && static_cast<long>(pos) >= end_at))
        return false;
      const auto c = static_cast<unsigned char>(text_[pos]);
      next.clear();
      matched = false;
      ++s.generation;
      for (const int pc : current)
        if (p_.sets[static_cast<size_t>(p_.code[static_cast<size_t>(pc)].x)].test(c))
          closure(s, start, pc + 1, pos + 1, next, matched);
      std::swap(current, next);
    }
  }

 private:
  using Op = ModuleRegex::Program::Op;
  struct Scratch {
    explicit Scratch(size_t n) : mark(n, 0) {}
    std::vector<uint32_t> mark;
    uint32_t generation = 1;
    std::vector<int> stack;
  };

  bool word_at(long i) const {
    return i >= 0 && static_cast<size_t>(i) < text_.size() &&
           is_word(static_cast<unsigned char>(text_[static_cast<size_t>(i)]));
  }

  bool holds(AssertKind k, size_t pos) const {
    const size_t n = text_.size();
    switch (k) {
      case AssertKind::line_start:
        return pos == 0;
      case AssertKind::line_start_m:
        return pos == 0 || text_[pos - 1] == '\n';
      case AssertKind::line_end:
        return pos == n || (pos + 1 == n && text_[pos] == '\n');
      case AssertKind::line_end_m:
        return pos == n || text_[pos] == '\n';
      case AssertKind::text_start:
        return pos == 0;
      case AssertKind::text_end:
        return pos == n;
      case AssertKind::word_boundary:
        return word_at(static_cast<long>(pos) - 1) != word_at(static_cast<long>(pos));
      case AssertKind::not_word_boundary:  // Python's \B never matches an empty text
        return n > 0 && word_at(static_cast<long>(pos) - 1) == word_at(static_cast<long>(pos));
    }
    return false;
  }

  bool look(int index, size_t pos) {
    int8_t& memo = memo_[static_cast<size_t>(index)][pos];
    if (memo >= 0) return memo == 1;
    const auto& l = p_.looks[static_cast<size_t>(index)];
    bool found;
    if (l.behind)
      found = l.width <= static_cast<long>(pos) &&
              run(l.start, l.end, pos - static_cast<size_t>(l.width), static_cast<long>(pos));
    else
      found = run(l.start, l.end, pos, -1);
    const bool result = found != l.negate;
    memo = result ? 1 : 0;
    return result;
  }

  // Adds the threads reachable from `pc` without consuming a character: their `chr` instructions to
  // `list`, and whether `match` is reachable. Iterative; each instruction at most once per position.
  void closure(Scratch& s, int base, int pc, size_t pos, std::vector<int>& list, bool& matched) {
    s.stack.clear();
    s.stack.push_back(pc);
    while (!s.stack.empty()) {
      const int at = s.stack.back();
      s.stack.pop_back();
      uint32_t& mark = s.mark[static_cast<size_t>(at - base)];
      if (mark == s.generation) continue;
      mark = s.generation;
      const auto& inst = p_.code[static_cast<size_t>(at)];
      switch (inst.op) {
        case Op::chr:
          list.push_back(at);
          break;
        case Op::match:
          matched = true;
          break;
        case Op::jmp:
          s.stack.push_back(inst.x);
          break;
        case Op::split:
          s.stack.push_back(inst.y);
          s.stack.push_back(inst.x);
          break;
        case Op::assertion:
          if (holds(inst.assertion, pos)) s.stack.push_back(at + 1);
          break;
        case Op::look:
          if (look(inst.x, pos)) s.stack.push_back(at + 1);
          break;
      }
    }
  }

  const ModuleRegex::Program& p_;
  std::string_view text_;
  std::vector<std::vector<int8_t>> memo_;
};

}  // namespace

ModuleRegex::ModuleRegex(const std::string& pattern) : program_(std::make_unique<Program>()) {
  if (pattern.size() > kMaxPatternLength)
    throw RegexError("pattern is " + std::to_string(pattern.size()) + " characters long; the limit is " +
                     std::to_string(kMaxPatternLength));
  const NodePtr root = Parser(pattern).parse();
  program_->build(*root);
}

ModuleRegex::~ModuleRegex() = default;
ModuleRegex::ModuleRegex(ModuleRegex&&) noexcept = default;
ModuleRegex& ModuleRegex::operator=(ModuleRegex&&) noexcept = default;

bool ModuleRegex::full_match(std::string_view text) const {
  Matcher m(*program_, text);
  return m.run(0, program_->main_end, 0, static_cast<long>(text.size()));
}

}  // namespace zerosim
