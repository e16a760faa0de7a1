import sys

from judge.launch import main

sys.exit(main())
