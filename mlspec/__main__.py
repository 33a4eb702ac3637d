from mlspec.cli.main import main

main()
