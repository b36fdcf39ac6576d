// peft's regex target_modules (re.fullmatch over module paths) without backtracking: Python's answers
// on the patterns peft users write, Python's errors on patterns it rejects, and bounded time, memory and
// stack on the ones that made std::regex hang (fuzz_adapter_config) or would overflow its recursion.
#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "test_support.h"
#include "workloads/module_regex.h"
#include "workloads/param_inventory.h"
#include "workloads/peft_spec.h"

using namespace zerosim;
using zerosim::testing::config_error_message;
using zerosim::testing::TempDir;

namespace {

const std::string kQ = "model.layers.0.self_attn.q_proj";
const std::string kV = "model.layers.0.self_attn.v_proj";
const std::string kDown = "model.layers.0.mlp.down_proj";
const std::string kQwen = "transformer.h.0.attn.c_attn";

bool full(const std::string& pattern, const std::string& text) {
  return ModuleRegex(pattern).full_match(text);
}

std::string regex_error(const std::string& pattern) {
  try {
    ModuleRegex re(pattern);
  } catch (const RegexError& e) {
    return e.what();
  }
  return "no error";
}

double seconds_for(const std::string& pattern, const std::string& text) {
  const auto t0 = std::chrono::steady_clock::now();
  (void)full(pattern, text);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST_CASE("module regexes: Python re.fullmatch answers on the patterns peft users write", "[peft][regex]") {
  // The README / peft docs forms.
  CHECK(full(".*\\.(q_proj|v_proj)", kQ));
  CHECK(full(".*\\.(q_proj|v_proj)", kV));
  CHECK_FALSE(full(".*\\.(q_proj|v_proj)", kDown));
  CHECK(full("model.layers.*(q|v)_proj", kQ));
  CHECK_FALSE(full("model.layers.*(q|v)_proj", kDown));
  CHECK(full(".*\\.(self_attn|attn)\\.(q_proj|v_proj|c_attn)", kQwen));
  // fullmatch, not search: a pattern matching only part of the path does not count.
  CHECK_FALSE(full("q_proj", kQ));
  CHECK_FALSE(full("model", kQ));
  CHECK(full(".*q_proj", kQ));
  // Classes, counted repeats, \d \w, anchors, lazy quantifiers (same answer as greedy for a full match).
  CHECK(full("model\\.layers\\.\\d+\\.self_attn\\.[qkv]_proj", kQ));
  CHECK_FALSE(full("model\\.layers\\.\\d+\\.self_attn\\.[^q]_proj", kQ));
  CHECK(full("^model\\.layers\\.[0-9]{1,2}\\..*_proj$", kDown));
  CHECK_FALSE(full("model\\.layers\\.[0-9]{2}\\..*", kDown));  // "0" is one digit
  CHECK(full("\\w+(\\.\\w+){4}", kQ));                         // five dot-separated words
  CHECK_FALSE(full("\\w+(\\.\\w+){5}", kQ));
  CHECK(full(".*?\\bq_proj", kQ));
  CHECK_FALSE(full(".*\\Bq_proj", kQ));  // '.' before q: a word boundary, so \B fails
  // Lookarounds: everything under self_attn except v_proj; fixed-width lookbehind.
  CHECK(full("(?!.*v_proj).*self_attn.*", kQ));
  CHECK_FALSE(full("(?!.*v_proj).*self_attn.*", kV));
  CHECK(full(".*(?<=attn\\.)q_proj", kQ));
  CHECK_FALSE(full(".*(?<!attn\\.)q_proj", kQ));
  // Flags: global at the start, or scoped; non-capturing and named groups.
  CHECK(full("(?i)MODEL.*Q_PROJ", kQ));
  CHECK_FALSE(full("MODEL.*Q_PROJ", kQ));
  CHECK(full("(?i:MODEL).*q_proj", kQ));
  CHECK(full("(?x) model \\. layers .* q_proj  # verbose", kQ));
  CHECK(full("(?:model|transformer)\\.(?P<block>layers|h)\\.0\\..*", kQwen));
  // Nested repeats that backtracking engines take exponential time on: same answer, at once.
  CHECK_FALSE(full("(a*)*b", std::string(40, 'a')));
  CHECK(full("(a|aa)*", std::string(40, 'a')));
  CHECK(full("(.*)*proj", kQ));
  // An empty alternative, an empty text.
  CHECK(full("a|", ""));
  CHECK_FALSE(full("\\B", ""));  // Python's \B never matches an empty string
}

TEST_CASE("module regexes: what Python's re rejects is rejected with its reason", "[peft][regex][errors]") {
  // The fuzz finding: `.?*` is "multiple repeat" in Python; libstdc++ accepted it and backtracked for
  // minutes on a 30-character module path.
  CHECK_THAT(regex_error(".?*\\.(self_aatpt\n_self|c_atv_proj|c_attn)"),
             Catch::Contains("multiple repeat at position 2"));
  CHECK_THAT(regex_error("a**"), Catch::Contains("multiple repeat"));
  CHECK_THAT(regex_error("a{2}{3}"), Catch::Contains("multiple repeat"));
  CHECK_THAT(regex_error("*q_proj"), Catch::Contains("nothing to repeat at position 0"));
  CHECK_THAT(regex_error("^*"), Catch::Contains("nothing to repeat"));
  CHECK_THAT(regex_error("(q_proj"), Catch::Contains("missing ), unterminated subpattern"));
  CHECK_THAT(regex_error("q_proj)"), Catch::Contains("unbalanced parenthesis"));
  CHECK_THAT(regex_error("[a-"), Catch::Contains("unterminated character set"));
  CHECK_THAT(regex_error("[z-a]"), Catch::Contains("bad character range"));
  CHECK_THAT(regex_error("a{3,2}"), Catch::Contains("min repeat greater than max repeat"));
  CHECK_THAT(regex_error("\\q"), Catch::Contains("bad escape \\q"));
  CHECK_THAT(regex_error("a(?i)b"), Catch::Contains("global flags not at the start"));
  CHECK_THAT(regex_error("(?<=a+)b"), Catch::Contains("look-behind requires fixed-width pattern"));
  // `{` that is not a repeat is a literal, as in Python.
  CHECK(full("a{,x}", "a{,x}"));
  CHECK(full("a{}", "a{}"));
  // Python features with no place in a regular (linear-time) matcher are named.
  CHECK_THAT(regex_error("(q)\\1"), Catch::Contains("back-references") && Catch::Contains("not supported"));
  CHECK_THAT(regex_error("(?P<m>q)(?P=m)"), Catch::Contains("back-references"));
  CHECK_THAT(regex_error("(?>a)"), Catch::Contains("atomic groups"));
  CHECK_THAT(regex_error("a*+"), Catch::Contains("possessive"));
  CHECK_THAT(regex_error("proj\xc3\xa9"), Catch::Contains("non-ASCII character at position 4"));
}

TEST_CASE("module regexes: length, nesting and expansion limits keep time and stack bounded",
          "[peft][regex][limits]") {
  const size_t max_len = ModuleRegex::kMaxPatternLength;
  CHECK_NOTHROW(ModuleRegex(std::string(max_len, 'a')));
  CHECK_THAT(regex_error(std::string(max_len + 1, 'a')),
             Catch::Contains("4097 characters long") && Catch::Contains("the limit is 4096"));
  // std::regex recursed once per group level; 100 levels are fine, 101 are refused, 2000 do not overflow.
  const int depth = ModuleRegex::kMaxNesting;
  CHECK(
      full(std::string(static_cast<size_t>(depth), '(') + "q" + std::string(static_cast<size_t>(depth), ')'),
           "q"));
  CHECK_THAT(regex_error(std::string(static_cast<size_t>(depth) + 1, '(') + "q" +
                         std::string(static_cast<size_t>(depth) + 1, ')')),
             Catch::Contains("nested more than 100 deep"));
  CHECK_THAT(regex_error(std::string(2000, '(') + std::string(2000, ')')), Catch::Contains("nested"));
  // Counted repeats expand to NFA states: .{0,100} is 200 of them, a hundred copies pass the 20,000 limit.
  CHECK_THAT(regex_error("((((.{0,100}){0,100}){0,100}){0,100})"), Catch::Contains("too complex"));
  CHECK_THAT(regex_error("((?:){100000}){100000}"), Catch::Contains("too complex"));
  CHECK_THAT(regex_error("a{1000000}"), Catch::Contains("repeat count 1000000 is too large"));
  // Linear in the text: 100,000 characters through a nested repeat in well under a second.
  CHECK(seconds_for("(a*)*b", std::string(100000, 'a')) < 1.0);
  CHECK(seconds_for(".?.?.?.?.?.?.?.?(.?)*(x|y|z)", kQ + kQ + kQ) < 1.0);
}

TEST_CASE("adapter_config.json: a regex target Python rejects, or over the limits, is exit-2 material",
          "[peft][regex][errors]") {
  TempDir dir;
  const ModelSpec m = load_model("llama2-7b");
  const std::string bad =
      dir.write("bad/adapter_config.json", R"json({"r": 16, "target_modules": ".?*\\.(q_proj|v_proj)"})json");
  PeftSpec p = peft_from_adapter_config(bad);
  const std::string msg = config_error_message([&] { resolve_targets(p, m, "run.yaml"); });
  CHECK_THAT(msg, Catch::Contains(bad) && Catch::Contains("'target_modules'") &&
                      Catch::Contains("multiple repeat at position 2") &&
                      Catch::Contains("model.layers.0.self_attn.q_proj"));

  const std::string long_pattern = ".*(" + std::string(5000, 'q') + ")";
  const std::string huge =
      dir.write("huge/adapter_config.json", R"({"r": 16, "target_modules": ")" + long_pattern + R"("})");
  PeftSpec h = peft_from_adapter_config(huge);
  const std::string too_long = config_error_message([&] { resolve_targets(h, m, "run.yaml"); });
  CHECK_THAT(too_long, Catch::Contains(huge) && Catch::Contains("'target_modules'") &&
                           Catch::Contains("5004 characters long; the limit is 4096"));
  CHECK(too_long.size() < 600);  // the message quotes the pattern's start, not all 5004 characters

  // The same regex in RUN.yaml's peft.target_modules names that key.
  PeftSpec inline_peft;
  inline_peft.target_modules = {"(q|v)_proj**"};
  CHECK_THAT(config_error_message([&] { resolve_targets(inline_peft, m, "run.yaml"); }),
             Catch::Contains("run.yaml") && Catch::Contains("'peft.target_modules'") &&
                 Catch::Contains("multiple repeat"));

  // A valid Python regex keeps working: LoRA on the attention projections through a lookahead.
  const std::string ok = dir.write("ok/adapter_config.json",
                                   R"json({"r": 16, "lora_alpha": 32, "use_dora": true,
                                       "target_modules": "(?!.*mlp).*\\.(q_proj|v_proj)"})json");
  PeftSpec q = peft_from_adapter_config(ok);
  resolve_targets(q, m, "run.yaml");
  CHECK(count_params(param_modules(m, q)).trainable == 8'650'752);  // as the q,v list (test_peft_counts)
}
