"""The OpenAPI document of a served model, and its V2 model metadata.

Generated from the bundle's input schema, so it names the model's real columns and their types:
a client generator, a schema-based fuzzer (schemathesis) or a human sees exactly what
``/invocations`` and ``/v2/models/{name}/infer`` accept.
"""

from __future__ import annotations

from typing import Any

from mlspec import __version__
from mlspec.serve.pipeline import ScoringPipeline
from mlspec.serve.protocol import PARAMS, v2_datatype
from mlspec.serve.schema import dtype_kind, json_type

_V2_TYPE = {"f": "FP64", "i": "INT64", "I": "INT64", "b": "BOOL", "s": "BYTES", "M": "BYTES"}


def _column_schemas(pipe: ScoringPipeline) -> dict[str, Any]:
    return {
        name: {**json_type(dtype_kind(dtype)), "description": f"dtype {dtype}"}
        for name, dtype in pipe.input_columns
    }


def openapi_document(pipe: ScoringPipeline) -> dict[str, Any]:
    cols = _column_schemas(pipe)
    names = [n for n, _ in pipe.input_columns]
    row_values = {"type": "array", "items": {}, "minItems": len(names), "maxItems": len(names)}
    record = {
        "type": "object",
        "properties": cols,
        "required": names,
        "additionalProperties": False,
    }
    params = {
        "type": "object",
        "properties": {k: {"type": "boolean", "description": v} for k, v in PARAMS.items()},
        "additionalProperties": False,
    }
    layouts = {
        "DataframeSplit": {
            "type": "object",
            "properties": {
                "dataframe_split": {
                    "type": "object",
                    "properties": {
                        "columns": {
                            "type": "array",
                            "items": {"type": "string", "enum": names},
                        },
                        "data": {"type": "array", "items": row_values, "minItems": 1},
                    },
                    "required": ["data"],
                },
                "params": params,
            },
            "required": ["dataframe_split"],
        },
        "DataframeRecords": {
            "type": "object",
            "properties": {
                "dataframe_records": {"type": "array", "items": record, "minItems": 1},
                "params": params,
            },
            "required": ["dataframe_records"],
        },
        "Instances": {
            "type": "object",
            "properties": {
                "instances": {"type": "array", "items": record, "minItems": 1},
                "params": params,
            },
            "required": ["instances"],
        },
        "Inputs": {
            "type": "object",
            "properties": {
                "inputs": {
                    "type": "object",
                    "properties": {
                        n: {"type": "array", "items": s, "minItems": 1} for n, s in cols.items()
                    },
                    "required": names,
                    "additionalProperties": False,
                },
                "params": params,
            },
            "required": ["inputs"],
        },
    }
    error = {
        "type": "object",
        "properties": {
            "error_code": {"type": "string"},
            "message": {"type": "string"},
            "problems": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "code": {"type": "string"},
                        "message": {"type": "string"},
                        "column": {"type": "string"},
                        "fix": {"type": "string"},
                    },
                },
            },
        },
    }
    tensor = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "enum": names},
            "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}},
            "datatype": {"type": "string"},
            "data": {"type": "array"},
        },
        "required": ["name", "shape", "datatype", "data"],
    }
    errors: dict[str, dict[str, Any]] = {
        "400": {"description": "malformed body, missing/extra columns, wrong types"},
        "401": {"description": "missing or wrong bearer token (when the server has one)"},
        "415": {"description": "unsupported Content-Type"},
        "422": {"description": "the model could not score the (valid) rows"},
    }
    for r in errors.values():
        r["content"] = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"mlspec serve: {pipe.label}",
            "version": __version__,
            "description": f"{pipe.task} model {pipe.label} ({pipe.ref}), model digest"
            f" {pipe.model_digest}. Inputs: "
            + ", ".join(f"{n} ({d})" for n, d in pipe.input_columns),
        },
        "paths": {
            "/invocations": {
                "post": {
                    "summary": "Score rows (MLflow scoring protocol)",
                    "parameters": [
                        {
                            "name": "probabilities",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "boolean"},
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "oneOf": [
                                        {"$ref": f"#/components/schemas/{k}"} for k in layouts
                                    ]
                                }
                            },
                            "text/csv": {"schema": {"type": "string"}},
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "predictions",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Predictions"}
                                }
                            },
                        },
                        **errors,
                    },
                }
            },
            f"/v2/models/{pipe.name}/infer": {
                "post": {
                    "summary": "Score rows (Open Inference Protocol V2)",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "id": {"type": "string"},
                                        "inputs": {"type": "array", "items": tensor},
                                        "parameters": params,
                                    },
                                    "required": ["inputs"],
                                }
                            }
                        },
                    },
                    "responses": {"200": {"description": "V2 inference response"}, **errors},
                }
            },
            **{
                p: {"get": {"summary": s, "responses": {"200": {"description": "ok"}}}}
                for p, s in (
                    ("/ping", "health (open without token)"),
                    ("/health", "health (open without token)"),
                    ("/version", "mlspec and model version"),
                    ("/metrics", "Prometheus metrics"),
                    ("/v2/health/live", "V2 liveness (open without token)"),
                    ("/v2/health/ready", "V2 readiness (open without token)"),
                    (f"/v2/models/{pipe.name}", "V2 model metadata"),
                )
            },
        },
        "components": {
            "schemas": {
                **layouts,
                "Predictions": {
                    "type": "object",
                    "properties": {
                        "predictions": {"type": "array"},
                        "probabilities": {"type": "array"},
                        "classes": {"type": "array"},
                        "model": {"type": "string"},
                        "version": {"type": ["integer", "null"]},
                    },
                    "required": ["predictions", "model", "version"],
                },
                "Error": error,
            },
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def v2_metadata(pipe: ScoringPipeline) -> dict[str, Any]:
    import numpy as np

    pred_dtype = (pipe.bundle.output_schema.get("prediction") or {}).get("dtype", "float64")
    try:
        pred_type = v2_datatype(np.dtype(pred_dtype))
    except TypeError:
        pred_type = "BYTES"
    outputs: list[dict[str, Any]] = [{"name": "predictions", "datatype": pred_type, "shape": [-1]}]
    if pipe.has_proba:
        outputs.append(
            {"name": "probabilities", "datatype": "FP64", "shape": [-1, len(pipe.classes or [])]}
        )
    return {
        "name": pipe.name,
        "versions": [] if pipe.version is None else [str(pipe.version)],
        "platform": "mlspec",
        "inputs": [
            {"name": n, "datatype": _V2_TYPE.get(dtype_kind(d), "BYTES"), "shape": [-1]}
            for n, d in pipe.input_columns
        ],
        "outputs": outputs,
        "parameters": {
            "task": pipe.task,
            "classes": pipe.classes,
            "model_digest": pipe.model_digest,
        },
    }
