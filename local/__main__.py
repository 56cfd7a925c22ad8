from local.runner import main

main()
