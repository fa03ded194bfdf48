"""Rasa 3.6's prediction graph run with less work around it (found with cProfile on bench/rasa_turn.py, issue 15):

- each run of the graph (the NLU once a turn, the policies before each action: two or three runs a turn) went
  through dask: the minimal graph for the targets worked out again, a dask graph built, ordered and scheduled
  (~12 % of Rasa's CPU per turn around the components' own work). `run` here computes once, per set of targets,
  the nodes to run in an order where each comes after the nodes it needs, then calls them one after the other with
  the outputs of the nodes they need, as dask's synchronous scheduler does (one thread, the same node calls, the
  same inputs, a missing input passed as its name);
- the rule policy, before each prediction, checked every rule (~200) against the conversation's current state to
  keep those whose last step matches it (~8 %), though the answer depends only on that state: it is kept per state
  (a bounded table per policy), and the earlier steps of the remaining rules are checked as before, until none
  is left or every rule left is shorter than the steps checked;
- when no rule applied, the rule policy wrote every state of the conversation as JSON to name its prediction, only
  to look that name up among its rules: a conversation longer than every rule is named without it.

Both give what Rasa's own code gives. In check mode (OUTREACH_RASA_CHECK_HISTORY=1, every Rasa the tests start),
each plan is checked against Rasa's minimal graph (the same nodes, each after the nodes it needs), the rules kept
are checked against Rasa's own filter at every prediction, and a long conversation's name is checked to be no rule
kept out of stories; a difference stops the turn (HistoryMismatch).

`install()` runs in the Rasa process before the server starts (nlu/serving/__main__.py); training keeps dask.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

MAX_STATES = 10_000  # current states remembered per rule policy (and lookup), then the table starts again
LONGER_THAN_ANY_RULE = "<conversation longer than any rule>"  # see _no_feature_key_longer_than_any_rule


def execution_plan(schema: Any, targets: Iterable[str]) -> list[tuple[str, tuple[str, ...]]]:
    """(node, the names it needs) for every node the targets depend on, each after the nodes it needs."""
    needed: set[str] = set()
    pending = list(targets)
    while pending:
        name = pending.pop()
        if name in needed or name not in schema.nodes:  # an input placeholder, not a node
            continue
        needed.add(name)
        pending.extend(schema.nodes[name].needs.values())
    plan: list[tuple[str, tuple[str, ...]]] = []
    placed: set[str] = set()

    def place(name: str, path: tuple[str, ...]) -> None:
        if name in placed or name not in needed:
            return
        if name in path:
            raise ValueError(f"the graph has a cycle through {name!r}")
        needs = tuple(schema.nodes[name].needs.values())
        for dependency in needs:
            place(dependency, (*path, name))
        placed.add(name)
        plan.append((name, needs))

    for name in schema.nodes:  # the schema's order among independent nodes
        place(name, ())
    return plan


def check_plan(schema: Any, targets: list[str], plan: list[tuple[str, tuple[str, ...]]]) -> None:
    """Raise HistoryMismatch unless the plan runs Rasa's minimal graph for the targets, each node after its needs."""
    from serving.history import HistoryMismatch

    names = [name for name, _ in plan]
    if set(names) != set(schema.minimal_graph_schema(targets).nodes) or len(names) != len(set(names)):
        raise HistoryMismatch(f"the plan for {targets} runs other nodes than Rasa's minimal graph")
    done: set[str] = set()
    for name, needs in plan:
        if any(need in schema.nodes and need not in done for need in needs):
            raise HistoryMismatch(f"{name!r} runs before a node it needs")
        done.add(name)


def _sequential_runner(check: bool) -> None:
    from rasa.engine.exceptions import GraphRunError
    from rasa.engine.runner.dask import DaskGraphRunner

    def run(
        self: DaskGraphRunner, inputs: dict[str, Any] | None = None, targets: list[str] | None = None
    ) -> dict[str, Any]:
        run_targets = list(targets if targets else self._graph_schema.target_names)
        plans: dict[tuple[str, ...], list[tuple[str, tuple[str, ...]]]] = self.__dict__.setdefault(
            "_outreach_plans", {}
        )
        key = tuple(run_targets)
        plan = plans.get(key)
        if plan is None:
            plan = plans[key] = execution_plan(self._graph_schema, run_targets)
            if check:
                check_plan(self._graph_schema, run_targets, plan)
        outputs: dict[str, Any] = {}
        for name, value in (inputs or {}).items():
            if isinstance(value, str) and value in self._graph_schema.nodes:
                raise GraphRunError(
                    f"Input value '{value}' clashes with a node name. Make sure that none of the input names "
                    f"passed to the `run` method are the same as node names in the graph schema."
                )
            outputs[name] = (name, value)
        nodes = self._instantiated_nodes
        try:
            for name, needs in plan:
                outputs[name] = nodes[name](*[outputs.get(need, need) for need in needs])
        except RuntimeError as error:
            raise GraphRunError("Error running runner.") from error
        return dict(outputs[target] for target in run_targets)

    DaskGraphRunner.run = run  # type: ignore[method-assign]


def freeze(value: Any) -> Any:
    """A hashable value equal for equal dialogue states (dicts, lists and sets inside)."""
    if isinstance(value, dict):
        return tuple(sorted((key, freeze(item)) for key, item in value.items()))
    if isinstance(value, list | tuple):
        return (type(value).__name__, tuple(freeze(item) for item in value))
    if isinstance(value, set | frozenset):
        return ("set", frozenset(freeze(item) for item in value))
    return value


def _rule_keys_per_state(check: bool) -> None:
    from rasa.core.policies.rule_policy import RulePolicy

    rasa_possible_keys = RulePolicy._get_possible_keys

    def get_possible_keys(self: RulePolicy, lookup: dict[str, str], states: list[dict[str, Any]]) -> set[str]:
        if not states:
            return set(lookup)
        current = states[-1]
        table: dict[Any, tuple[dict[str, str], frozenset[str]]] = self.__dict__.setdefault("_outreach_keys", {})
        key = (id(lookup), len(lookup), freeze(current))
        found = table.get(key)
        if found is None or found[0] is not lookup:
            if len(table) >= MAX_STATES:
                table.clear()
            found = (lookup, frozenset(rule for rule in lookup if self._is_rule_applicable(rule, 0, current)))
            table[key] = found
        possible = set(found[1])
        for index, state in enumerate(reversed(states[:-1]), start=1):
            if not possible or index >= _longest(possible):  # nothing left, or every rule left is shorter
                break
            possible = {rule for rule in possible if self._is_rule_applicable(rule, index, state)}
        if check and possible != rasa_possible_keys(self, lookup, states):
            from serving.history import HistoryMismatch

            raise HistoryMismatch("the rules kept for a state differ from Rasa's")
        return possible

    RulePolicy._get_possible_keys = get_possible_keys  # type: ignore[method-assign]


def _longest(rules: Iterable[str]) -> int:
    """The number of dialogue states of the longest of these rule keys (JSON lists of states; the names of Rasa's
    built-in rules, which are not, count for none)."""
    from rasa.core.policies.rule_policy import RulePolicy

    return max((len(RulePolicy._rule_key_to_state(rule)) for rule in rules if rule.startswith("[")), default=0)


def _no_feature_key_longer_than_any_rule(check: bool) -> None:
    """When no rule applies, the rule policy names its prediction with the JSON of every state of the conversation
    (O(length of the conversation), built by inserting at the front), used only to ask whether that is one of the
    rules kept out of stories: a conversation longer than any rule cannot be one, and gets a name that is none."""
    from rasa.core.policies.rule_policy import RULES, RULES_NOT_IN_STORIES, RulePolicy

    rasa_feature_key = RulePolicy._create_feature_key

    def create_feature_key(self: RulePolicy, states: list[dict[str, Any]]) -> str | None:
        longest = self.__dict__.get("_outreach_longest")
        if longest is None:
            keys = [*self.lookup.get(RULES, {}), *self.lookup.get(RULES_NOT_IN_STORIES, [])]
            longest = self.__dict__["_outreach_longest"] = _longest(keys)
        if len(states) <= longest:
            return rasa_feature_key(self, states)
        if check and rasa_feature_key(self, states) in self.lookup.get(RULES_NOT_IN_STORIES, []):
            from serving.history import HistoryMismatch

            raise HistoryMismatch("a conversation longer than every rule matched a rule kept out of stories")
        return LONGER_THAN_ANY_RULE

    RulePolicy._create_feature_key = create_feature_key  # type: ignore[method-assign]


def install(check: bool = False) -> None:
    """Replace Rasa's functions (once); `check`: compare with Rasa's own (see the module's docstring)."""
    from rasa.engine.runner.dask import DaskGraphRunner

    if getattr(DaskGraphRunner, "outreach_graph", False):
        return
    _sequential_runner(check)
    _rule_keys_per_state(check)
    _no_feature_key_longer_than_any_rule(check)
    DaskGraphRunner.outreach_graph = True  # type: ignore[attr-defined]
