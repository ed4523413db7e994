from dify_plugin import DifyPluginEnv, Plugin

# MAX_REQUEST_TIMEOUT is the longest time (in seconds) one request may run.
plugin = Plugin(DifyPluginEnv(MAX_REQUEST_TIMEOUT=120))

if __name__ == "__main__":
    plugin.run()
