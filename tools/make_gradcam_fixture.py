"""Grad-CAM reference for test/gradcam.test.ts: a tiny Sequential (conv, relu, conv, relu | pool,
flatten, linear) on formula weights and input, the map of class 2 over the second ReLU's output,
computed with PyTorch's autograd and F.interpolate. Run: /usr/bin/python3 tools/make_gradcam_fixture.py"""
import json
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

net = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.ReLU(), nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))
with torch.no_grad():
    for name, p in net.named_parameters():
        p.copy_(torch.tensor([math.sin(0.7 * i + len(name)) * 0.5 for i in range(p.numel())]).reshape(p.shape))
x = torch.tensor([math.cos(0.3 * i) for i in range(2 * 2 * 6 * 6)], dtype=torch.float32).reshape(2, 2, 6, 6)
saved = {}
net[3].register_forward_hook(lambda m, i, o: saved.__setitem__('a', o) or o.retain_grad())
y = net(x)
y[:, 2].sum().backward()
a, g = saved['a'], saved['a'].grad
alpha = g.mean(dim=(2, 3), keepdim=True)
cam = F.relu((alpha * a).sum(1))
up = F.interpolate(cam[:, None], size=(9, 9), mode='bilinear', align_corners=False)[:, 0]
up = up / up.flatten(1).max(1).values[:, None, None]
out = {
    'params': {k: v.flatten().tolist() for k, v in net.state_dict().items()},
    'input': x.flatten().tolist(),
    'maps': cam.flatten().tolist(),
    'cam9': up.flatten().tolist(),
    'probs': torch.softmax(y, 1).flatten().tolist(),
}
with open('test/fixtures/gradcam.json', 'w') as f:
    json.dump(out, f)
