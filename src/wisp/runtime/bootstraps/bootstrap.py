# wisp's Lambda runtime client for Python: started as `python3.X bootstrap.py`; the client
# is wisp_bootstrap.py beside this file, imported so that its bytecode is cached.
import wisp_bootstrap

wisp_bootstrap.main()
