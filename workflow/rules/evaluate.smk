# Stage 4: zero-shot evaluation of each target model on every language of that target. The model is loaded once
# per job; each language gets its own score file. One rule per target (its language list fixes the outputs).

for _target in TARGETS:

    rule:
        name:
            f"evaluate_{_target}"
        input:
            unpack(get_target_tests_for(_target)),
            model=LAYOUT.path("target_model", target=_target),
        output:
            **PLAN.per_language("target_score", PLAN.target_languages(_target), target=_target),
        log:
            f"logs/evaluate/{_target}/{{condition}}.log",
        conda:
            conda_env("torch")
        threads: PLAN.eval_threads
        resources:
            gpu=1,
        params:
            spec=PLAN.task_spec("targets", _target),
            meta=get_evaluation_meta(_target),
            batch_size=64,
        message:
            f"Zero-shot evaluation of {_target} ({{wildcards.condition}}) per language"
        script:
            "../scripts/evaluate_target.py"
