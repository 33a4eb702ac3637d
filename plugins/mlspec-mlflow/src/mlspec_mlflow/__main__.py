from mlspec_mlflow.cli import main

main()
