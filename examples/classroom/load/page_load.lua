-- wrk script: page loads (GET /tasks) as a logged-in student. COOKIE comes from load_test.sh.
wrk.method = "GET"
wrk.headers["Cookie"] = os.getenv("COOKIE")
wrk.path = "/tasks"

done = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "report.lua")
